import { TransientError } from '../errors';
import { zipInvalid } from './bytes';
import { CentralDirectoryParser } from './central-directory';
import { type CentralDirectoryLocation, MIN_TAIL_BYTES, locateCentralDirectory } from './end-record';
import type { ZipContents } from './layout';
import { SNIFF_BYTES, assertZipSignature } from './sniff';

export { MIN_TAIL_BYTES };

/** Holds the end record and the central directory of all but the largest layers (~10,000 entries). */
export const DEFAULT_TAIL_BYTES = 1024 * 1024;

export interface ZipInspectorOptions {
  /** How many of the archive's last bytes to keep; at least MIN_TAIL_BYTES. */
  tailBytes?: number;
}

/** The central directory's bytes, `end` inclusive as in an HTTP Range header, and its entry count. */
export interface CentralDirectoryRange {
  readonly start: number;
  readonly end: number;
  readonly entryCount: number;
}

export type ZipInspection =
  | { readonly kind: 'complete'; readonly contents: ZipContents }
  | ({ readonly kind: 'need-range' } & CentralDirectoryRange);

/**
 * Checks that a stream of bytes is a zip archive while it passes by, keeping only its first bytes and a
 * bounded tail. `update` throws ZipInvalid as soon as the first bytes rule out a zip, so the caller can
 * stop reading; `finish` reads the end record and, when the central directory lies in the tail, the
 * entry names. Otherwise it asks for the directory's byte range, to be read with readCentralDirectory.
 */
export class ZipInspector {
  private readonly head: Uint8Array;
  private readonly tail: Uint8Array;
  private readonly tailStart: number;
  private received = 0;
  private finished = false;

  constructor(
    private readonly totalSize: number,
    options: ZipInspectorOptions = {},
  ) {
    const tailBytes = options.tailBytes ?? DEFAULT_TAIL_BYTES;
    if (!Number.isSafeInteger(totalSize) || totalSize < 0) throw new RangeError(`invalid total size ${totalSize}`);
    if (!Number.isSafeInteger(tailBytes) || tailBytes < MIN_TAIL_BYTES) {
      throw new RangeError(`tailBytes must be an integer of at least ${MIN_TAIL_BYTES}, not ${tailBytes}`);
    }
    this.head = new Uint8Array(Math.min(SNIFF_BYTES, totalSize));
    this.tail = new Uint8Array(Math.min(tailBytes, totalSize));
    this.tailStart = totalSize - this.tail.length;
  }

  update(chunk: Uint8Array): void {
    if (this.finished) throw new Error('ZipInspector.update called after finish');
    const start = this.received;
    const end = start + chunk.length;
    if (end > this.totalSize) throw new Error(`received more than the ${this.totalSize} bytes announced`);
    this.received = end;
    if (start < this.head.length) {
      this.head.set(chunk.subarray(0, this.head.length - start), start);
      if (end >= this.head.length) assertZipSignature(this.head);
    }
    if (end > this.tailStart) {
      const from = Math.max(start, this.tailStart);
      this.tail.set(chunk.subarray(from - start), from - this.tailStart);
    }
  }

  finish(): ZipInspection {
    if (this.finished) throw new Error('ZipInspector.finish called twice');
    this.finished = true;
    if (this.received < this.totalSize) {
      throw new TransientError(`the zip's stream ended after ${this.received} of its ${this.totalSize} bytes`);
    }
    if (this.totalSize === 0) throw zipInvalid('the object is empty (0 bytes); upload the layer zip again');
    const location = locateCentralDirectory(this.tail, this.tailStart);
    if (location.entryCount === 0) throw zipInvalid('the zip archive has no entries');
    if (location.offset < this.tailStart) {
      return { kind: 'need-range', ...toRange(location) };
    }
    const parser = new CentralDirectoryParser(location);
    const from = location.offset - this.tailStart;
    parser.push(this.tail.subarray(from, from + location.size));
    return { kind: 'complete', contents: parser.end() };
  }
}

/**
 * Reads a central directory that did not fit the inspector's tail, from its bytes as fetched with a
 * ranged GET (`Range: bytes=<start>-<end>`), one chunk at a time.
 */
export async function readCentralDirectory(
  range: CentralDirectoryRange,
  chunks: AsyncIterable<Uint8Array>,
): Promise<ZipContents> {
  const parser = new CentralDirectoryParser(toLocation(range));
  for await (const chunk of chunks) parser.push(chunk);
  return parser.end();
}

function toRange(location: CentralDirectoryLocation): CentralDirectoryRange {
  return { start: location.offset, end: location.offset + location.size - 1, entryCount: location.entryCount };
}

function toLocation(range: CentralDirectoryRange): CentralDirectoryLocation {
  return { offset: range.start, size: range.end - range.start + 1, entryCount: range.entryCount };
}
