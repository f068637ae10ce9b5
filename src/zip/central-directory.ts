import { TransientError } from '../errors';
import { SIGNATURE, hasSignature, readUint16, zipInvalid } from './bytes';
import type { CentralDirectoryLocation } from './end-record';
import { LayoutCollector, type ZipContents } from './layout';

const HEADER_BYTES = 46;
/** General-purpose flag bit 11: the name is UTF-8; otherwise it is CP437, read here as Latin-1. */
const UTF8_NAME_FLAG = 0x0800;

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

/**
 * Reads central directory headers from chunks of any size. Only an incomplete header is carried from one
 * chunk to the next, so memory stays at one chunk plus one header however large the directory is.
 */
export class CentralDirectoryParser {
  private readonly names = new LayoutCollector();
  private received = 0;
  private entriesRead = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the next header can be read; waiting for them avoids re-copying a partial header. */
  private bytesNeeded = HEADER_BYTES;

  constructor(private readonly location: CentralDirectoryLocation) {}

  push(chunk: Uint8Array): void {
    this.received += chunk.length;
    if (this.received > this.location.size) {
      throw new Error(
        `received more than the central directory's ${this.location.size} bytes (was the Range header ignored?)`,
      );
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.bytesNeeded) return;
    const bytes = concatenate(this.pending, this.pendingBytes);
    // Copy the leftover so that a large chunk is not kept alive by a small view into it.
    const rest = bytes.slice(this.readEntries(bytes));
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
  }

  end(): ZipContents {
    const { size, entryCount } = this.location;
    if (this.received < size) {
      throw new TransientError(`the central directory ended after ${this.received} of its ${size} bytes`);
    }
    if (this.pendingBytes > 0 || this.entriesRead !== entryCount) {
      throw zipInvalid(
        `the zip's end record announces ${entryCount} entries, but its central directory holds ${this.entriesRead}` +
          (this.pendingBytes > 0 ? ` and ${this.pendingBytes} bytes of a cut-off entry` : '') +
          ' (corrupt archive); upload it again',
      );
    }
    return { entryCount, layout: this.names.summary() };
  }

  /** Reads every complete header in `bytes`; returns how many bytes they took. */
  private readEntries(bytes: Uint8Array): number {
    let at = 0;
    for (;;) {
      const length = this.completeEntryLength(bytes, at);
      if (length === undefined) return at;
      this.readEntry(bytes, at);
      at += length;
    }
  }

  private completeEntryLength(bytes: Uint8Array, at: number): number | undefined {
    const available = bytes.length - at;
    if (available < HEADER_BYTES) {
      this.bytesNeeded = HEADER_BYTES;
      return undefined;
    }
    if (!hasSignature(bytes, at, SIGNATURE.centralDirectoryHeader)) {
      throw zipInvalid(
        `the zip's central directory is corrupt: entry ${this.entriesRead + 1} does not start with a header signature`,
      );
    }
    const length = HEADER_BYTES + readUint16(bytes, at + 28) + readUint16(bytes, at + 30) + readUint16(bytes, at + 32);
    if (available < length) {
      this.bytesNeeded = length;
      return undefined;
    }
    return length;
  }

  private readEntry(bytes: Uint8Array, at: number): void {
    this.entriesRead += 1;
    if (this.entriesRead > this.location.entryCount) {
      throw zipInvalid(
        `the zip's central directory holds more entries than the ${this.location.entryCount} its end record announces (corrupt archive)`,
      );
    }
    const flags = readUint16(bytes, at + 8);
    const nameBytes = bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + readUint16(bytes, at + 28));
    this.names.add(((flags & UTF8_NAME_FLAG) !== 0 ? utf8 : latin1).decode(nameBytes));
  }
}

function concatenate(parts: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const [only] = parts;
  if (parts.length === 1 && only !== undefined) return only;
  const joined = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
