import { SIGNATURE, hasSignature, readUint16, readUint32, readUint64, zipInvalid } from './bytes';

const END_RECORD_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_END_RECORD_BYTES = 56;
const MIN_CENTRAL_HEADER_BYTES = 46;

/**
 * The end record may be preceded by a ZIP64 record and locator and followed by a comment; a tail this
 * long always holds all of them (unless the ZIP64 record carries an "extensible data" sector, which no
 * common tool writes).
 */
export const MIN_TAIL_BYTES = END_RECORD_BYTES + MAX_COMMENT_BYTES + ZIP64_LOCATOR_BYTES + ZIP64_END_RECORD_BYTES;

/** Where the central directory lies, in absolute offsets of the archive, and how many entries it holds. */
export interface CentralDirectoryLocation {
  readonly offset: number;
  readonly size: number;
  readonly entryCount: number;
}

interface EndFields {
  disk: number;
  directoryDisk: number;
  entriesOnDisk: number;
  entryCount: number;
  size: number;
  offset: number;
}

/** Signatures that have no business in an archive comment: a reader that scans for them could stop there. */
const RECORD_SIGNATURES = [
  SIGNATURE.localFileHeader,
  SIGNATURE.centralDirectoryHeader,
  SIGNATURE.endOfCentralDirectory,
  SIGNATURE.zip64EndOfCentralDirectory,
  SIGNATURE.zip64EndLocator,
  SIGNATURE.dataDescriptor,
];

/**
 * Reads the end records from `tail`, the archive's last bytes (its first byte at absolute offset
 * `tailStart`), and checks that the archive can be read only one way: one end record, ending the file,
 * whose central directory ends exactly where the end records begin, so that no reader has to guess an
 * offset correction (docs/contract.md §4).
 */
export function locateCentralDirectory(tail: Uint8Array, tailStart: number): CentralDirectoryLocation {
  const endAt = findEndRecord(tail);
  let fields = readEndRecord(tail, endAt);
  let directoryLimit = tailStart + endAt;
  const locatorAt = endAt - ZIP64_LOCATOR_BYTES;
  // Python's zipfile reads the ZIP64 record whenever a locator is there, saturated fields or not.
  if (needsZip64(fields) || hasSignature(tail, locatorAt, SIGNATURE.zip64EndLocator)) {
    const zip64At = findZip64EndRecord(tail, tailStart, locatorAt);
    fields = mergeZip64(fields, readZip64EndRecord(tail, zip64At));
    directoryLimit = tailStart + zip64At;
  }
  assertSingleDisk(fields);
  assertDirectoryFits(fields, directoryLimit);
  return { offset: fields.offset, size: fields.size, entryCount: fields.entryCount };
}

/**
 * Info-ZIP, Python's zipfile and fflate all take the last end-record signature of the archive's last
 * 64 KiB; this takes the same one, and refuses the archive when another reading is possible: a record
 * whose comment does not fit (Go's archive/zip would read an earlier one), an earlier signature whose
 * comment would end the file exactly (what the publisher used to prefer), or a comment holding records.
 */
function findEndRecord(tail: Uint8Array): number {
  const lowest = Math.max(0, tail.length - END_RECORD_BYTES - MAX_COMMENT_BYTES);
  let endAt: number | undefined;
  for (let at = tail.length - END_RECORD_BYTES; at >= lowest; at -= 1) {
    if (!hasSignature(tail, at, SIGNATURE.endOfCentralDirectory)) continue;
    if (endAt === undefined) {
      endAt = at;
    } else if (at + END_RECORD_BYTES + readUint16(tail, at + 20) === tail.length) {
      throw zipInvalid("the zip has two end-of-central-directory records (one hidden in the other's comment), so tools disagree on its contents; re-zip it");
    }
  }
  if (endAt === undefined) {
    throw zipInvalid(
      'the zip has no end-of-central-directory record: the archive is truncated (an interrupted upload?) or not a complete zip; upload it again',
      { endRecord: 'missing' },
    );
  }
  if (endAt + END_RECORD_BYTES + readUint16(tail, endAt + 20) > tail.length) {
    throw zipInvalid("the zip's end record announces a comment longer than the bytes left: the archive is truncated or corrupt; upload it again");
  }
  // Bytes appended after the comment are read alike by every tool, unless they hold a record.
  assertPlainComment(tail.subarray(endAt + END_RECORD_BYTES));
  return endAt;
}

function assertPlainComment(comment: Uint8Array): void {
  for (let at = 0; at + 4 <= comment.length; at++) {
    if (comment[at] !== 0x50 || comment[at + 1] !== 0x4b) continue;
    if (RECORD_SIGNATURES.includes(readUint32(comment, at) as (typeof RECORD_SIGNATURES)[number])) {
      throw zipInvalid("the zip's comment holds a zip record signature, so tools that scan for records read it differently; re-zip it without that comment");
    }
  }
}

function readEndRecord(tail: Uint8Array, at: number): EndFields {
  return {
    disk: readUint16(tail, at + 4),
    directoryDisk: readUint16(tail, at + 6),
    entriesOnDisk: readUint16(tail, at + 8),
    entryCount: readUint16(tail, at + 10),
    size: readUint32(tail, at + 12),
    offset: readUint32(tail, at + 16),
  };
}

const SATURATED: Record<keyof EndFields, number> = {
  disk: 0xffff,
  directoryDisk: 0xffff,
  entriesOnDisk: 0xffff,
  entryCount: 0xffff,
  size: 0xffffffff,
  offset: 0xffffffff,
};

/** A writer saturates a 16- or 32-bit field when the real value lives in the ZIP64 end record. */
function needsZip64(fields: EndFields): boolean {
  return (Object.keys(SATURATED) as (keyof EndFields)[]).some((field) => fields[field] === SATURATED[field]);
}

/** The ZIP64 values win, as in every reader; a plain value that says otherwise is a second reading. */
function mergeZip64(plain: EndFields, zip64: EndFields): EndFields {
  for (const field of Object.keys(SATURATED) as (keyof EndFields)[]) {
    if (plain[field] !== SATURATED[field] && plain[field] !== zip64[field]) {
      throw zipInvalid(
        `the zip's end record and its ZIP64 end record disagree (${field} ${plain[field]} vs ${zip64[field]}), so tools disagree on its contents; re-zip it`,
      );
    }
  }
  return zip64;
}

function findZip64EndRecord(tail: Uint8Array, tailStart: number, locatorAt: number): number {
  if (!hasSignature(tail, locatorAt, SIGNATURE.zip64EndLocator)) {
    throw zipInvalid("the zip's end record points to ZIP64 fields, but the ZIP64 locator is missing (corrupt archive)");
  }
  const recordAt = readUint64(tail, locatorAt + 8, 'end record offset') - tailStart;
  if (recordAt < 0 || recordAt + ZIP64_END_RECORD_BYTES > locatorAt) {
    throw zipInvalid("the zip's ZIP64 end record is not where its locator says (corrupt archive)");
  }
  if (!hasSignature(tail, recordAt, SIGNATURE.zip64EndOfCentralDirectory)) {
    throw zipInvalid("the zip's ZIP64 locator does not point to a ZIP64 end record (corrupt archive)");
  }
  if (recordAt + 12 + readUint64(tail, recordAt + 4, 'end record size') !== locatorAt) {
    throw zipInvalid('the zip has bytes between its ZIP64 end record and its locator, which tools read differently; re-zip it');
  }
  return recordAt;
}

function readZip64EndRecord(tail: Uint8Array, at: number): EndFields {
  return {
    disk: readUint32(tail, at + 16),
    directoryDisk: readUint32(tail, at + 20),
    entriesOnDisk: readUint64(tail, at + 24, 'entry count'),
    entryCount: readUint64(tail, at + 32, 'entry count'),
    size: readUint64(tail, at + 40, 'central directory size'),
    offset: readUint64(tail, at + 48, 'central directory offset'),
  };
}

function assertSingleDisk(fields: EndFields): void {
  if (fields.disk !== 0 || fields.directoryDisk !== 0 || fields.entriesOnDisk !== fields.entryCount) {
    throw zipInvalid('the zip is one part of a split (multi-volume) archive; upload a single-file zip');
  }
}

/**
 * The directory must end where the end records begin. When it ends earlier, readers correct every offset
 * by the difference (Info-ZIP: "extra bytes at beginning or within zipfile"; Python: `concat`), which is
 * how a stub prepended to a zip is usually read; but whether Function Compute's extractor does is not
 * documented, so such an archive is refused with the fix: `zip -A` rewrites the offsets to be absolute.
 */
function assertDirectoryFits(fields: EndFields, directoryLimit: number): void {
  const directoryEnd = fields.offset + fields.size;
  if (directoryEnd > directoryLimit) {
    throw zipInvalid(
      `the zip's central directory (offset ${fields.offset}, ${fields.size} bytes) runs past its end record at ${directoryLimit}: the archive is truncated or corrupt; upload it again`,
      { directoryOffset: fields.offset, directorySize: fields.size },
    );
  }
  if (directoryEnd < directoryLimit) {
    throw zipInvalid(
      `the zip's central directory is not where its end record says (${directoryLimit - directoryEnd} bytes off): bytes were put before ` +
        'the archive (a self-extracting stub?) without adjusting its offsets, so tools read it differently; run `zip -A` on it, or re-zip it',
      { directoryOffset: fields.offset, directorySize: fields.size },
    );
  }
  if (fields.size < fields.entryCount * MIN_CENTRAL_HEADER_BYTES) {
    throw zipInvalid(
      `the zip's central directory (${fields.size} bytes) is too small for the ${fields.entryCount} entries its end record announces (corrupt archive)`,
    );
  }
}
