import fc from 'fast-check';
import { gzipSync, strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors';
import { MIN_RANGE_BYTES, MIN_TAIL_BYTES, readArchive } from '../../src/zip';
import { writeZip } from '../fixtures/zips/writer';
import { independentCrc64, patternBytes } from '../support/independent';
import { buildZip, endRecordOf, memorySource, patched, read, toZip64, withComment } from './helpers';

const LAYER = ['nodejs/node_modules/left-pad/index.js', 'nodejs/node_modules/left-pad/package.json', 'README.md'];

async function expectZipInvalid(bytes: Uint8Array, message: RegExp, options?: Parameters<typeof read>[2]): Promise<void> {
  const error = await read(bytes, [], options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidInputError);
  expect((error as InvalidInputError).code).toBe('ZipInvalid');
  expect((error as InvalidInputError).message).toMatch(message);
}

/** Enough entries with long names that the central directory outgrows the smallest tail. */
function manyEntries(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `python/package_${index}/${'module_'.repeat(6)}${index}.py`);
}

describe('readArchive on well-formed archives', () => {
  it.each([0, 6] as const)('reads the entries of an archive (level %i), and its CRC-64', async (level) => {
    const zip = buildZip(LAYER, { level });
    const { crc64, contents } = await read(zip);
    expect(crc64).toBe(independentCrc64(zip));
    expect(contents.entryCount).toBe(3);
    expect([...contents.layout.places]).toEqual(['nodejs/node_modules/']);
    expect(contents.layout.topLevel).toEqual(['nodejs/', 'README.md']);
  });

  it('gives the same answer however the bytes are chunked', async () => {
    const zip = buildZip([...LAYER, 'bin/tool', 'lib/libz.so']);
    const expected = await read(zip);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 60 }), async (sizes) => {
        expect(await read(zip, sizes)).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });

  it('finds the end record behind a comment of the maximum length', async () => {
    const comment = new Uint8Array(0xffff).fill(0x20);
    expect((await read(withComment(buildZip(LAYER), comment))).contents.entryCount).toBe(3);
  });

  it('accepts bytes appended after the end record, as every tool reads them alike', async () => {
    const zip = buildZip(LAYER);
    const padded = new Uint8Array(zip.length + 100);
    padded.set(zip);
    expect((await read(padded)).contents.entryCount).toBe(3);
  });

  it('decodes UTF-8 names', async () => {
    expect((await read(buildZip(['café/naïve.txt']))).contents.layout.topLevel).toEqual(['café/']);
  });

  it('reads names without the UTF-8 flag as Latin-1', async () => {
    const zip = zipSync({ 'x.txt': strToU8('x') }, { level: 0 });
    const { offset } = endRecordOf(zip);
    // "xé" in Latin-1 in place of "x.", in the local header and in the central directory alike.
    const latin = patched(patched(zip, 30, 0xe978, 2), offset + 46, 0xe978, 2);
    expect((await read(latin)).contents.layout.topLevel).toEqual(['xétxt']);
  });
});

describe('readArchive reads every byte once', () => {
  it('reads the tail first, then the entries; ranges never overlap and cover the object', async () => {
    const zip = buildZip(manyEntries(50), { level: 0 });
    const { source, ranges } = memorySource(zip, [], 4);
    await readArchive(source, { tailBytes: MIN_TAIL_BYTES });
    expect(ranges[0]).toEqual({ start: Math.max(0, zip.length - MIN_TAIL_BYTES), end: zip.length - 1 });
    const sorted = [...ranges].sort((a, b) => a.start - b.start);
    expect(sorted[0]!.start).toBe(0);
    for (let index = 1; index < sorted.length; index++) expect(sorted[index]!.start).toBe(sorted[index - 1]!.end + 1);
    expect(sorted.at(-1)!.end).toBe(zip.length - 1);
  });

  it('splits large archives at entry boundaries, each run walked on its own', async () => {
    const files: Record<string, Uint8Array> = {};
    for (let index = 0; index < 8; index++) files[`python/blob${index}.bin`] = patternBytes(Math.floor(MIN_RANGE_BYTES * 0.6) + index, index);
    const zip = zipSync(files, { level: 0 });
    const { source, ranges } = memorySource(zip, [], 4);
    const { crc64 } = await readArchive(source);
    expect(crc64).toBe(independentCrc64(zip));
    const entryRuns = ranges.slice(1);
    expect(entryRuns.length).toBe(4);
    const localHeaders = new Set<number>();
    for (let at = 0; at < zip.length - 4; at++) if (zip[at] === 0x50 && zip[at + 1] === 0x4b && zip[at + 2] === 3 && zip[at + 3] === 4) localHeaders.add(at);
    for (const run of entryRuns) expect(run.start === 0 || localHeaders.has(run.start)).toBe(true);
  });

  it('reads a central directory that outgrows the tail with one more range', async () => {
    const zip = buildZip(manyEntries(2000), { level: 0 });
    const { offset } = endRecordOf(zip);
    const { source, ranges } = memorySource(zip, [1, 45, 46, 7, 1000]);
    const { contents } = await readArchive(source, { tailBytes: MIN_TAIL_BYTES });
    expect(contents.entryCount).toBe(2000);
    expect(ranges).toContainEqual({ start: offset, end: zip.length - MIN_TAIL_BYTES - 1 });
  });

  it("without entry checks still reads every byte and the directory (the benchmark's peer)", async () => {
    const zip = writeZip([{ name: 'python/x.py', data: 'x', crc: 1 }]);
    const { crc64 } = await read(zip, [], { verifyEntries: false });
    expect(crc64).toBe(independentCrc64(zip));
    await expectZipInvalid(zip, /fails its CRC-32 check/);
  });
});

describe('readArchive on ZIP64 archives', () => {
  it('reads the ZIP64 end record when the plain one is saturated', async () => {
    const { contents } = await read(toZip64(buildZip(LAYER), 3));
    expect(contents.entryCount).toBe(3);
    expect(contents.layout.places.has('nodejs/node_modules/')).toBe(true);
  });

  it('counts more than 65,535 entries', async () => {
    const names = Array.from({ length: 70_000 }, (_, index) => `lib/f${index}`);
    const zip = toZip64(zipSync(Object.fromEntries(names.map((name) => [name, new Uint8Array(0)])), { level: 0 }), 70_000);
    const { contents } = await read(zip, [65_536]);
    expect(contents.entryCount).toBe(70_000);
    expect([...contents.layout.places]).toEqual(['lib/']);
  });

  it('refuses saturated fields without a ZIP64 locator', async () => {
    const zip = buildZip(LAYER);
    await expectZipInvalid(patched(zip, zip.length - 12, 0xffff, 2), /ZIP64 locator is missing/);
  });

  it('refuses a plain end record that disagrees with the ZIP64 one (Python reads the ZIP64 one)', async () => {
    const zip = toZip64(buildZip(LAYER), 3);
    await expectZipInvalid(patched(zip, zip.length - 12, 2, 2), /disagree \(entryCount 2 vs 3\)/);
  });
});

describe('readArchive on bad input', () => {
  // The walker compares an ASCII name byte for byte and decodes any other (src/zip/entry-walker.ts):
  // these local names differ from the central directory's only past the ASCII.
  it('refuses a local header whose UTF-8 name differs in a non-ASCII character, naming both spellings', async () => {
    const zip = buildZip(['café/naïve.txt']);
    // "é" is C3 A9 at bytes 3-4 of the name; C3 A8 is "è".
    await expectZipInvalid(patched(zip, 30 + 3, 0xa8c3, 2), /local header says name "cafè\/naïve\.txt", its central-directory entry "café\/naïve\.txt"/);
  });

  it('refuses a local header whose Latin-1 name differs in a byte past ASCII', async () => {
    const zip = zipSync({ 'x.txt': strToU8('x') }, { level: 0 });
    const { offset } = endRecordOf(zip);
    // "xé" in the central directory, "xè" in the local header, in place of "x.".
    const renamed = patched(patched(zip, 30, 0xe878, 2), offset + 46, 0xe978, 2);
    await expectZipInvalid(renamed, /local header says name "xètxt", its central-directory entry "xétxt"/);
  });

  it('refuses 0 bytes', async () => {
    await expectZipInvalid(new Uint8Array(0), /^the object is empty \(0 bytes\); upload the layer zip again$/);
  });

  it('refuses an archive with no entries', async () => {
    const empty = zipSync({});
    expect(empty.length).toBe(22);
    await expectZipInvalid(empty, /^the zip archive has no entries$/);
  });

  it('refuses JSON, naming the first bytes and a guess', async () => {
    const json = strToU8('{"layerName": "MyLayer", "compatibleRuntime": ["nodejs20"]}');
    await expectZipInvalid(json, /does not start with a zip signature \(found 0x7b226c617965724e\); it looks like JSON/);
  });

  it('recognises gzip, tar and HTML', async () => {
    await expectZipInvalid(gzipSync(strToU8('hello')), /found 0x1f8b.*gzip/);
    const tar = new Uint8Array(1024);
    tar.set(strToU8('nodejs/'), 0);
    tar.set(strToU8('ustar'), 257);
    await expectZipInvalid(tar, /tar archive/);
    await expectZipInvalid(strToU8('\n  <?xml version="1.0"?><Error/>'), /HTML or XML/);
  });

  it('a large non-zip is refused after its tail and first bytes, not read whole', async () => {
    const big = new Uint8Array(3 * MIN_RANGE_BYTES).fill(0x41);
    const { source, ranges } = memorySource(big);
    await expect(readArchive(source)).rejects.toThrow(/found 0x4141414141414141\)$/);
    const read = ranges.reduce((sum, range) => sum + range.end - range.start + 1, 0);
    expect(read).toBeLessThan(2 * 1024 * 1024);
  });

  it('refuses an archive cut short at any point', async () => {
    const zip = withComment(buildZip(LAYER), strToU8('made by hand'));
    for (let length = 1; length < zip.length; length += 7) {
      await expectZipInvalid(zip.subarray(0, length), /truncated|does not start with a zip signature|corrupt/);
    }
  });

  it('refuses an archive that lost its first bytes', async () => {
    const zip = buildZip(LAYER);
    await expectZipInvalid(zip.subarray(30), /does not start with a zip signature|runs past its end record/);
  });

  it('refuses a central directory that runs past the end record', async () => {
    const zip = buildZip(LAYER);
    const { offset } = endRecordOf(zip);
    await expectZipInvalid(patched(zip, zip.length - 6, offset + 40, 4), /runs past its end record/);
  });

  it('refuses a corrupt central directory header', async () => {
    const zip = buildZip(LAYER);
    await expectZipInvalid(patched(zip, endRecordOf(zip).offset, 0x12345678, 4), /entry 1 does not start with a header signature/);
  });

  it('refuses an entry count that disagrees with the directory', async () => {
    const zip = buildZip(LAYER);
    await expectZipInvalid(patched(patched(zip, zip.length - 12, 2, 2), zip.length - 14, 2, 2), /holds more entries than the 2/);
  });

  it('refuses a split archive', async () => {
    const zip = buildZip(LAYER);
    await expectZipInvalid(patched(zip, zip.length - 18, 1, 2), /split \(multi-volume\)/);
  });

  it('refuses a tail too small to hold the end record', async () => {
    await expect(read(buildZip(LAYER), [], { tailBytes: MIN_TAIL_BYTES - 1 })).rejects.toThrow(RangeError);
  });
});
