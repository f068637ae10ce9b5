import { describe, expect, it } from 'vitest';
import { waitedFor, waitingOf, waitingTable } from '../../src/console/waiting';

const NOW = new Date('2026-12-07T04:00:00Z');
const LONE = {
  missing: 'layers/x.zip',
  since: '2026-12-07T03:48:00.000Z',
  nearMiss: { key: 'layers/x-1.2.zip', fix: 'rename layers/x-1.2.zip to layers/x.zip' },
};

describe('waiting results', () => {
  it('reads the waiting field of a result, and nothing from a result without one or with another shape', () => {
    expect(waitingOf({ status: 'waiting', waiting: LONE })).toEqual(LONE);
    expect(waitingOf({ status: 'waiting', waiting: { missing: 'layers/y.layer.json', since: '2026-12-07T03:00:00Z' } })).toEqual({
      missing: 'layers/y.layer.json',
      since: '2026-12-07T03:00:00Z',
    });
    expect(waitingOf({ status: 'waiting' })).toBeUndefined();
    expect(waitingOf({ status: 'waiting', waiting: { missing: 7 } })).toBeUndefined();
    expect(waitingOf('waiting')).toBeUndefined();
    expect(waitingOf(null)).toBeUndefined();
  });

  it('lists each pair with how long it has waited, for which key, and the near miss with its fix', () => {
    expect(waitedFor(LONE, NOW)).toBe('12m');
    expect(waitedFor({ ...LONE, since: 'yesterday' }, NOW)).toBe('?');
    const lines = waitingTable(
      [
        { result: 'layers/x.result.json', waiting: LONE },
        { result: 'layers/old.result.json', waiting: undefined },
      ],
      NOW,
    ).split('\n');
    expect(lines[0]).toMatch(/^result +waiting +for +near miss$/);
    expect(lines[2]).toMatch(/^layers\/x\.result\.json +12m +layers\/x\.zip +layers\/x-1\.2\.zip: rename layers\/x-1\.2\.zip to layers\/x\.zip$/);
    expect(lines[3]).toMatch(/^layers\/old\.result\.json +\? +- +-$/);
  });
});
