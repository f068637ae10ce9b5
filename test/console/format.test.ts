import { describe, expect, it } from 'vitest';
import { cut, formatAge, formatBytes, formatExactBytes, formatTable } from '../../src/console/format';

const HEADER = ['when', 'layer', 'status', 'detail'];
const ROWS = [
  ['2026-12-07T03:00:00.000Z', 'pillow', 'published', 'layers/pillow.zip'],
  ['2026-12-07T03:05:00.000Z', 'numpy', 'failed', `ZipLayoutInvalid: ${'node_modules/ at the top of the zip; '.repeat(6)}`],
];

describe('formatTable', () => {
  it('without a width, pads every column to its widest cell and cuts nothing', () => {
    const lines = formatTable(HEADER, ROWS).split('\n');
    expect(lines[0]).toMatch(/^when {22}layer {3}status {5}detail$/);
    expect(lines[3]).toContain(ROWS[1]![3]!.trimEnd());
    expect(lines.some((line) => line.includes('…'))).toBe(false);
  });

  it('fits a width: the widest column gives way first, its cells cut with …, the short ones untouched', () => {
    const table = formatTable(HEADER, ROWS, { width: 80 });
    const lines = table.split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[2]).toBe('2026-12-07T03:00:00.000Z  pillow  published  layers/pillow.zip');
    expect(lines[3]).toMatch(/^2026-12-07T03:05:00\.000Z {2}numpy {3}failed {5}ZipLayoutInvalid: node_modules\/.*…$/);
    expect(lines[3]).toHaveLength(80);
  });

  it('narrows several columns when one is not enough, never a column below its title', () => {
    const lines = formatTable(HEADER, ROWS, { width: 40 }).split('\n');
    expect(lines[0]!.split(/ {2,}/)).toEqual(HEADER);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    expect(lines[3]).toBe('2026-12-…  numpy   failed     ZipLayout…');
  });

  it('keeps every column at its floor when even that is wider than the terminal', () => {
    const lines = formatTable(HEADER, ROWS, { width: 10 }).split('\n');
    expect(lines[0]).toBe('when    layer   status  detail');
    expect(lines[2]).toBe('2026-…  pillow  publi…  layer…');
  });
});

describe('sizes, ages and cuts', () => {
  it('one unit for sizes: bytes below 1 KiB, then KiB, MiB, GiB; the exact count beside it where a limit is', () => {
    expect([0, 1023, 1024, 1536, 10 * 1024 * 1024, 500 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.5 KiB',
      '10 MiB',
      '500 MiB',
      '3.0 GiB',
    ]);
    expect(formatExactBytes(10 * 1024 * 1024 + 1)).toBe('10 MiB (10485761 bytes)');
    expect(formatExactBytes(12)).toBe('12 B');
  });

  it('ages to the unit a person reads', () => {
    const s = 1000;
    expect([0, 59 * s, 60 * s, 59 * 60 * s, 3 * 3600 * s + 5 * 60 * s, 50 * 3600 * s, -5 * s].map(formatAge)).toEqual([
      '0s',
      '59s',
      '1m',
      '59m',
      '3h05m',
      '2d02h',
      '0s',
    ]);
  });

  it('cut leaves what fits alone and ends the rest with …', () => {
    expect(cut('abc', 3)).toBe('abc');
    expect(cut('abcd', 3)).toBe('ab…');
  });
});
