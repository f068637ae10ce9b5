import { describe, expect, it, vi } from 'vitest';
import { dropCutRequestEchoes } from '../../src/cli/cut-request-echo';

/**
 * urllib's two lines for a request cut in flight (src/cli/cut-request-echo.ts), as its own format
 * strings; test/cli/one-pass-upload.test.ts cuts a real part through ali-oss.
 */
const DOUBLE_CALLBACK = '[urllib:warn] [%s] [%s] [worker:%s] %s %s callback twice!!!';
const DOUBLE_CALLBACK_ERROR = '[urllib:warn] [%s] [%s] [worker:%s] %s: %s\nstack: %s';

describe('dropCutRequestEchoes', () => {
  /** A console whose warn records what passes the filter installed over it. */
  function recorded() {
    const original = vi.fn();
    const target: Pick<Console, 'warn'> = { warn: original };
    const filter = dropCutRequestEchoes(target);
    return { target, original, filter, warn: (...args: unknown[]) => target.warn(...args) };
  }

  it("drops urllib's double-callback line and the error line that follows it from the same request", () => {
    const { original, filter, warn } = recorded();
    warn(DOUBLE_CALLBACK, 'Mon Dec 07 2026', 29, 4242, 'PUT', 'http://127.0.0.1/b/k?partNumber=1');
    warn(DOUBLE_CALLBACK_ERROR, 'Mon Dec 07 2026', 29, 4242, 'RequestError', 'socket hang up', 'stack');
    expect(filter.dropped).toBe(2);
    expect(original).not.toHaveBeenCalled();
  });

  it('passes every other line, urllib error lines not after a double callback included', () => {
    const { target, original, filter, warn } = recorded();
    warn('[urllib:warn] something else %s', 1);
    warn(DOUBLE_CALLBACK_ERROR, 'Mon Dec 07 2026', 30, 4242, 'RequestError', 'socket hang up', 'stack');
    warn(DOUBLE_CALLBACK, 'Mon Dec 07 2026', 31, 4242, 'PUT', 'http://127.0.0.1/b/k');
    warn(DOUBLE_CALLBACK_ERROR, 'Mon Dec 07 2026', 32, 4242, 'RequestError', 'another request', 'stack');
    warn('ali-oss: a plain warning');
    expect(filter.dropped).toBe(1);
    expect(original.mock.calls.map(([format, , id]) => [format, id])).toEqual([
      ['[urllib:warn] something else %s', undefined],
      [DOUBLE_CALLBACK_ERROR, 30],
      [DOUBLE_CALLBACK_ERROR, 32],
      ['ali-oss: a plain warning', undefined],
    ]);
    filter.remove();
    expect(target.warn).toBe(original);
  });
});
