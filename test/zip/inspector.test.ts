import fc from 'fast-check';
import { gzipSync, strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, TransientError } from '../../src/errors';
import { MIN_TAIL_BYTES, ZipInspector, readCentralDirectory } from '../../src/zip';
import { buildZip, complete, endRecordOf, inspect, patched, split, stream, toZip64, withComment } from './helpers';

const LAYER = ['nodejs/node_modules/left-pad/index.js', 'nodejs/node_modules/left-pad/package.json', 'README.md'];

function expectZipInvalid(run: () => unknown, message: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).code).toBe('ZipInvalid');
    expect((error as InvalidInputError).message).toMatch(message);
    return;
  }
  throw new Error('expected ZipInvalid, nothing was thrown');
}

/** Enough entries with long names that the central directory outgrows the smallest tail. */
function manyEntries(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `python/package_${index}/${'module_'.repeat(6)}${index}.py`);
}

describe('ZipInspector on well-formed archives', () => {
  it.each([0, 6] as const)('reads the entries of an archive (level %i)', (level) => {
    const contents = complete(inspect(buildZip(LAYER, { level })));
    expect(contents.entryCount).toBe(3);
    expect([...contents.layout.places]).toEqual(['nodejs/node_modules/']);
    expect(contents.layout.topLevel).toEqual(['nodejs/', 'README.md']);
  });

  it('gives the same answer however the bytes are chunked', () => {
    const zip = buildZip([...LAYER, 'bin/tool', 'lib/libz.so']);
    const expected = complete(inspect(zip));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 60 }), (sizes) => {
        expect(complete(inspect(zip, sizes))).toEqual(expected);
      }),
    );
  });

  it('finds the end record behind a comment of the maximum length, even one holding a fake signature', () => {
    const comment = new Uint8Array(0xffff).fill(0x20);
    comment.set([0x50, 0x4b, 0x05, 0x06], 1000);
    const contents = complete(inspect(withComment(buildZip(LAYER), comment)));
    expect(contents.entryCount).toBe(3);
  });

  it('accepts bytes appended after the end record, as unzip does', () => {
    const zip = buildZip(LAYER);
    const padded = new Uint8Array(zip.length + 100);
    padded.set(zip);
    expect(complete(inspect(padded)).entryCount).toBe(3);
  });

  it('decodes UTF-8 names', () => {
    const contents = complete(inspect(buildZip(['café/naïve.txt'])));
    expect(contents.layout.topLevel).toEqual(['café/']);
  });

  it('reads names without the UTF-8 flag as Latin-1', () => {
    const zip = zipSync({ 'x.txt': strToU8('x') }, { level: 0 });
    const { offset } = endRecordOf(zip);
    const nameAt = offset + 46;
    const latin = zip.slice();
    latin.set([0x78, 0xe9], nameAt); // "xé" in Latin-1, replacing "x."
    expect(complete(inspect(latin)).layout.topLevel).toEqual(['xétxt']);
  });
});

describe('ZipInspector with a central directory larger than its tail', () => {
  const zip = buildZip(manyEntries(2000), { level: 0 });

  it('asks for the directory range, which readCentralDirectory then parses from chunks', async () => {
    const inspection = inspect(zip, [], { tailBytes: MIN_TAIL_BYTES });
    const { offset, size } = endRecordOf(zip);
    expect(inspection).toEqual({ kind: 'need-range', start: offset, end: offset + size - 1, entryCount: 2000 });
    if (inspection.kind !== 'need-range') return;
    const directory = zip.subarray(inspection.start, inspection.end + 1);
    const contents = await readCentralDirectory(inspection, stream(split(directory, [1, 45, 46, 7, 1000])));
    expect(contents).toEqual(complete(inspect(zip)));
  });

  it('parses the range the same way whatever its chunking', async () => {
    const inspection = inspect(zip, [], { tailBytes: MIN_TAIL_BYTES });
    if (inspection.kind !== 'need-range') throw new Error('expected need-range');
    const directory = zip.subarray(inspection.start, inspection.end + 1);
    const expected = complete(inspect(zip));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 100 }), async (sizes) => {
        expect(await readCentralDirectory(inspection, stream(split(directory, sizes)))).toEqual(expected);
      }),
      { numRuns: 30 },
    );
  });

  it('refuses a range response that is longer than the directory (Range ignored)', async () => {
    const inspection = inspect(zip, [], { tailBytes: MIN_TAIL_BYTES });
    if (inspection.kind !== 'need-range') throw new Error('expected need-range');
    await expect(readCentralDirectory(inspection, stream([zip]))).rejects.toThrow(/Range header ignored/);
  });

  it('reports a range response cut short as transient', async () => {
    const inspection = inspect(zip, [], { tailBytes: MIN_TAIL_BYTES });
    if (inspection.kind !== 'need-range') throw new Error('expected need-range');
    const short = zip.subarray(inspection.start, inspection.end - 10);
    await expect(readCentralDirectory(inspection, stream([short]))).rejects.toBeInstanceOf(TransientError);
  });
});

describe('ZipInspector on ZIP64 archives', () => {
  it('reads the ZIP64 end record when the plain one is saturated', () => {
    const contents = complete(inspect(toZip64(buildZip(LAYER), 3)));
    expect(contents.entryCount).toBe(3);
    expect(contents.layout.places.has('nodejs/node_modules/')).toBe(true);
  });

  it('counts more than 65,535 entries', async () => {
    const names = Array.from({ length: 70_000 }, (_, index) => `lib/f${index}`);
    const zip = toZip64(zipSync(Object.fromEntries(names.map((name) => [name, new Uint8Array(0)])), { level: 0 }), 70_000);
    const inspection = inspect(zip, [65_536]);
    if (inspection.kind !== 'need-range') throw new Error('a 70,000-entry directory should not fit 1 MiB');
    const contents = await readCentralDirectory(inspection, stream(split(zip.subarray(inspection.start, inspection.end + 1), [65_536])));
    expect(contents.entryCount).toBe(70_000);
    expect([...contents.layout.places]).toEqual(['lib/']);
  });

  it('refuses saturated fields without a ZIP64 locator', () => {
    const zip = buildZip(LAYER);
    expectZipInvalid(() => inspect(patched(zip, zip.length - 12, 0xffff, 2)), /ZIP64 locator is missing/);
  });
});

describe('ZipInspector on bad input', () => {
  it('refuses 0 bytes', () => {
    expectZipInvalid(() => inspect(new Uint8Array(0)), /^the object is empty \(0 bytes\); upload the layer zip again$/);
  });

  it('refuses an archive with no entries', () => {
    const empty = zipSync({});
    expect(empty.length).toBe(22);
    expectZipInvalid(() => inspect(empty), /^the zip archive has no entries$/);
  });

  it('refuses JSON, naming the first bytes and a guess', () => {
    const json = strToU8('{"layerName": "MyLayer", "compatibleRuntime": ["nodejs20"]}');
    expectZipInvalid(() => inspect(json), /does not start with a zip signature \(found 0x7b226c617965724e\); it looks like JSON/);
  });

  it('recognises gzip, tar and HTML', () => {
    expectZipInvalid(() => inspect(gzipSync(strToU8('hello'))), /found 0x1f8b.*gzip/);
    const tar = new Uint8Array(1024);
    tar.set(strToU8('nodejs/'), 0);
    tar.set(strToU8('ustar'), 257);
    expectZipInvalid(() => inspect(tar), /tar archive/);
    expectZipInvalid(() => inspect(strToU8('\n  <?xml version="1.0"?><Error/>')), /HTML or XML/);
  });

  it('rejects a non-zip from the first chunk, so the caller can stop reading', () => {
    const inspector = new ZipInspector(500 * 1024 * 1024);
    expectZipInvalid(() => inspector.update(new Uint8Array(4096).fill(0x41)), /found 0x4141414141414141\)$/);
  });

  it('refuses an archive cut short at any point', () => {
    const zip = withComment(buildZip(LAYER), strToU8('made by hand'));
    for (let length = 1; length < zip.length; length += 1) {
      expectZipInvalid(() => inspect(zip.subarray(0, length)), /truncated|does not start with a zip signature/);
    }
  });

  it('refuses an archive that lost its first bytes', () => {
    const zip = buildZip(LAYER);
    expectZipInvalid(() => inspect(zip.subarray(30)), /does not start with a zip signature/);
  });

  it('refuses a central directory that runs past the end record', () => {
    const zip = buildZip(LAYER);
    const { offset } = endRecordOf(zip);
    expectZipInvalid(() => inspect(patched(zip, zip.length - 6, offset + 40, 4)), /runs past its end record/);
  });

  it('refuses a corrupt central directory header', () => {
    const zip = buildZip(LAYER);
    expectZipInvalid(() => inspect(patched(zip, endRecordOf(zip).offset, 0x12345678, 4)), /entry 1 does not start with a header signature/);
  });

  it('refuses an entry count that disagrees with the directory', () => {
    const zip = buildZip(LAYER);
    expectZipInvalid(() => inspect(patched(patched(zip, zip.length - 12, 2, 2), zip.length - 14, 2, 2)), /holds more entries than the 2/);
  });

  it('refuses a split archive', () => {
    const zip = buildZip(LAYER);
    expectZipInvalid(() => inspect(patched(zip, zip.length - 18, 1, 2)), /split \(multi-volume\)/);
  });
});

describe('ZipInspector misuse', () => {
  it('reports a stream that ended early as transient', () => {
    const zip = buildZip(LAYER);
    const inspector = new ZipInspector(zip.length + 1);
    inspector.update(zip);
    expect(() => inspector.finish()).toThrow(TransientError);
  });

  it('refuses more bytes than announced', () => {
    const inspector = new ZipInspector(3);
    expect(() => inspector.update(new Uint8Array(4))).toThrow(/more than the 3 bytes/);
  });

  it('refuses a tail too small to hold the end record', () => {
    expect(() => new ZipInspector(100, { tailBytes: MIN_TAIL_BYTES - 1 })).toThrow(RangeError);
  });
});
