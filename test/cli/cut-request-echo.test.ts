import OSS from 'ali-oss';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dropCutRequestEchoes } from '../../src/cli/cut-request-echo';
import { OnePassUpload, PART_BYTES } from '../../src/cli/one-pass-upload';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { patternBytes } from '../support/independent';
import { useLoopbackCloud } from '../report/published-trail';

/**
 * `layer-publisher publish` cuts a part's request when the checks refuse the zip; urllib, under
 * ali-oss, then prints "callback twice!!!" and the error on stderr (src/cli/cut-request-echo.ts).
 */
const env = useLoopbackCloud();
const DOUBLE_CALLBACK = '[urllib:warn] [%s] [%s] [worker:%s] %s %s callback twice!!!';
const DOUBLE_CALLBACK_ERROR = '[urllib:warn] [%s] [%s] [worker:%s] %s: %s\nstack: %s';

const realWarn = console.warn;
afterEach(() => {
  console.warn = realWarn;
});

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

describe('a part cut in flight, through ali-oss to the local OSS', () => {
  function aliOss(): OSS {
    return new OSS({
      bucket: TEST_BUCKET,
      region: `oss-${TEST_REGION}`,
      ...TEST_CREDENTIALS,
      stsToken: TEST_CREDENTIALS.securityToken,
      endpoint: env.cloud.ossEndpoint,
      secure: false,
      authorizationV4: true,
      ...({ sldEnable: true } as object),
    });
  }

  /** A part's request under way with 1 of its 8 MiB sent, then the upload aborted. */
  async function cutPart(key: string): Promise<void> {
    const upload = new OnePassUpload(aliOss(), key, 2 * PART_BYTES);
    await upload.tap(patternBytes(1024 * 1024, 5), 0);
    await upload.abort();
  }

  it('makes urllib print "callback twice", which the filter drops and nothing else', async () => {
    const seen = vi.fn();
    console.warn = seen;
    const echoes = () => seen.mock.calls.filter(([format]) => format === DOUBLE_CALLBACK);

    // Unfiltered, the echo arrives once the cut socket closes: the case the filter is for is real.
    await cutPart('layers/echo-unfiltered.zip');
    await vi.waitFor(() => expect(echoes()).toHaveLength(1), { timeout: 5000 });

    seen.mockClear();
    const filter = dropCutRequestEchoes(console);
    try {
      await cutPart('layers/echo-filtered.zip');
      await vi.waitFor(() => expect(filter.dropped).toBeGreaterThan(0), { timeout: 5000 });
      expect(seen.mock.calls.filter(([format]) => String(format).startsWith('[urllib:warn]'))).toEqual([]);
    } finally {
      filter.remove();
    }
    expect(await env.cloud.oss.listKeys(TEST_BUCKET, 'layers/')).toEqual([]);
  });
});
