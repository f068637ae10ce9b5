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

/**
 * Reads the end records from `tail`, the archive's last bytes (its first byte at absolute offset
 * `tailStart`), and checks that the central directory they describe lies within the archive.
 */
export function locateCentralDirectory(tail: Uint8Array, tailStart: number): CentralDirectoryLocation {
  const endAt = findEndRecord(tail);
  let fields = readEndRecord(tail, endAt);
  let directoryLimit = tailStart + endAt;
  if (needsZip64(fields)) {
    const zip64At = findZip64EndRecord(tail, tailStart, endAt);
    fields = readZip64EndRecord(tail, zip64At);
    directoryLimit = tailStart + zip64At;
  }
  assertSingleDisk(fields);
  assertDirectoryFits(fields, directoryLimit);
  return { offset: fields.offset, size: fields.size, entryCount: fields.entryCount };
}

/**
 * Scans backwards for the end-record signature. A record whose comment ends exactly at the end of the
 * archive wins, so that a signature inside a comment cannot be mistaken for it; failing that, the last
 * one whose comment fits is taken, as unzip and Go's archive/zip do for an archive with bytes appended.
 * A truncated archive has lost its end record, so none is found.
 */
function findEndRecord(tail: Uint8Array): number {
  const lowest = Math.max(0, tail.length - END_RECORD_BYTES - MAX_COMMENT_BYTES);
  let fitting: number | undefined;
  for (let at = tail.length - END_RECORD_BYTES; at >= lowest; at -= 1) {
    if (!hasSignature(tail, at, SIGNATURE.endOfCentralDirectory)) continue;
    const recordEnd = at + END_RECORD_BYTES + readUint16(tail, at + 20);
    if (recordEnd === tail.length) return at;
    if (recordEnd < tail.length) fitting ??= at;
  }
  if (fitting !== undefined) return fitting;
  throw zipInvalid(
    'the zip has no end-of-central-directory record: the archive is truncated (an interrupted upload?) or not a complete zip; upload it again',
  );
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

/** A writer saturates a 16- or 32-bit field when the real value lives in the ZIP64 end record. */
function needsZip64(fields: EndFields): boolean {
  return (
    fields.disk === 0xffff ||
    fields.directoryDisk === 0xffff ||
    fields.entriesOnDisk === 0xffff ||
    fields.entryCount === 0xffff ||
    fields.size === 0xffffffff ||
    fields.offset === 0xffffffff
  );
}

function findZip64EndRecord(tail: Uint8Array, tailStart: number, endAt: number): number {
  const locatorAt = endAt - ZIP64_LOCATOR_BYTES;
  if (!hasSignature(tail, locatorAt, SIGNATURE.zip64EndLocator)) {
    throw zipInvalid('the zip\'s end record points to ZIP64 fields, but the ZIP64 locator is missing (corrupt archive)');
  }
  const recordAt = readUint64(tail, locatorAt + 8, 'end record offset') - tailStart;
  if (recordAt < 0 || recordAt + ZIP64_END_RECORD_BYTES > locatorAt) {
    throw zipInvalid('the zip\'s ZIP64 end record is not where its locator says (corrupt archive)');
  }
  if (!hasSignature(tail, recordAt, SIGNATURE.zip64EndOfCentralDirectory)) {
    throw zipInvalid('the zip\'s ZIP64 locator does not point to a ZIP64 end record (corrupt archive)');
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

function assertDirectoryFits(fields: EndFields, directoryLimit: number): void {
  if (fields.offset + fields.size > directoryLimit) {
    throw zipInvalid(
      `the zip's central directory (offset ${fields.offset}, ${fields.size} bytes) runs past its end record at ${directoryLimit}: the archive is truncated or corrupt; upload it again`,
      { directoryOffset: fields.offset, directorySize: fields.size },
    );
  }
  if (fields.size < fields.entryCount * MIN_CENTRAL_HEADER_BYTES) {
    throw zipInvalid(
      `the zip's central directory (${fields.size} bytes) is too small for the ${fields.entryCount} entries its end record announces (corrupt archive)`,
    );
  }
}
