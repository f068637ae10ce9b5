import { InvalidInputError, TransientError } from '../errors';
import { SIGNATURE, copyOf, hasSignature, joined, readUint16, readUint32, zipInvalid } from './bytes';
import type { CentralDirectoryLocation } from './end-record';
import { METHOD, type ZipEntry, assertOneName, assertSupported, decodeName, readExtras, zip64Values } from './entry';
import { type EntryPath, assertSafeName, firstEntryInside, parseEntryName, pathKey } from './entry-name';
import { LayoutCollector, type LayoutSummary } from './layout';

const HEADER_BYTES = 46;
const UNIX_FILE_TYPE = 0xf000;
const UNIX_SYMLINK = 0xa000;

/** The central directory read: its entries sorted by where their local headers lie, and the layout. */
export interface CentralDirectory {
  readonly entries: readonly ZipEntry[];
  readonly layout: LayoutSummary;
  /** What the entries declare they unpack to, together. */
  readonly unpackedBytes: number;
}

/**
 * Reads central directory headers from chunks of any size. Only an incomplete header is carried from one
 * chunk to the next; what is kept of each entry is what its local header and data are checked against.
 */
export class CentralDirectoryParser {
  private readonly names = new LayoutCollector();
  private readonly paths = new Set<string>();
  private readonly entries: ZipEntry[] = [];
  private received = 0;
  private unpackedBytes = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the next header can be read; waiting for them avoids re-copying a partial header. */
  private bytesNeeded = HEADER_BYTES;

  constructor(private readonly location: CentralDirectoryLocation) {}

  push(chunk: Uint8Array): void {
    this.received += chunk.length;
    if (this.received > this.location.size) {
      throw new Error(`received more than the central directory's ${this.location.size} bytes (was the Range header ignored?)`);
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.bytesNeeded) return;
    const bytes = joined(this.pending, this.pendingBytes);
    // Copied, so that a large chunk is not kept alive by a small view into it.
    const rest = copyOf(bytes.subarray(this.readEntries(bytes)));
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
  }

  end(): CentralDirectory {
    const { size, entryCount } = this.location;
    if (this.received < size) {
      throw new TransientError(`the central directory ended after ${this.received} of its ${size} bytes`);
    }
    if (this.pendingBytes > 0 || this.entries.length !== entryCount) {
      throw zipInvalid(
        `the zip's end record announces ${entryCount} entries, but its central directory holds ${this.entries.length}` +
          (this.pendingBytes > 0 ? ` and ${this.pendingBytes} bytes of a cut-off entry` : '') +
          ' (corrupt archive); upload it again',
      );
    }
    assertNoFileAsFolder(this.entries);
    const entries = this.entries.sort((a, b) => a.offset - b.offset);
    assertOrdered(entries, this.location.offset);
    return { entries, layout: this.names.summary(), unpackedBytes: this.unpackedBytes };
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
      throw zipInvalid(`the zip's central directory is corrupt: entry ${this.entries.length + 1} does not start with a header signature`);
    }
    const length = HEADER_BYTES + readUint16(bytes, at + 28) + readUint16(bytes, at + 30) + readUint16(bytes, at + 32);
    if (available < length) {
      this.bytesNeeded = length;
      return undefined;
    }
    return length;
  }

  private readEntry(bytes: Uint8Array, at: number): void {
    if (this.entries.length >= this.location.entryCount) {
      throw zipInvalid(`the zip's central directory holds more entries than the ${this.location.entryCount} its end record announces (corrupt archive)`);
    }
    const flags = readUint16(bytes, at + 8);
    const method = readUint16(bytes, at + 10);
    const nameEnd = at + HEADER_BYTES + readUint16(bytes, at + 28);
    const name = decodeName(bytes.subarray(at + HEADER_BYTES, nameEnd), flags);
    if (name === undefined) {
      throw new InvalidInputError('ZipLayoutInvalid', `entry ${this.entries.length + 1} is flagged UTF-8 but its name is not UTF-8; re-zip it`);
    }
    assertSafeName(name);
    assertSupported(name, flags, method);
    const extras = readExtras(bytes.subarray(nameEnd, nameEnd + readUint16(bytes, at + 30)), name);
    assertOneName(extras, name);
    const [uncompressedSize, compressedSize, offset, disk] = zip64Values(extras, name, [
      { value: readUint32(bytes, at + 24), saturated: 0xffffffff },
      { value: readUint32(bytes, at + 20), saturated: 0xffffffff },
      { value: readUint32(bytes, at + 42), saturated: 0xffffffff },
      { value: readUint16(bytes, at + 34), saturated: 0xffff },
    ]) as [number, number, number, number];
    if (disk !== 0) throw zipInvalid('the zip is one part of a split (multi-volume) archive; upload a single-file zip');
    if (method === METHOD.stored && compressedSize !== uncompressedSize) {
      throw zipInvalid(`entry ${JSON.stringify(name)} is stored, yet its sizes differ (${compressedSize} vs ${uncompressedSize}): corrupt archive`, {
        entry: name,
      });
    }
    const path = parseEntryName(name);
    this.assertNew(name, path);
    this.names.add(name, path);
    this.unpackedBytes += uncompressedSize;
    const symlink = ((readUint32(bytes, at + 38) >>> 16) & UNIX_FILE_TYPE) === UNIX_SYMLINK;
    this.entries.push({ name, path, flags, method, crc32: readUint32(bytes, at + 16), compressedSize, uncompressedSize, offset, symlink });
  }

  /** Two entries for one path: which one lands depends on the extractor. */
  private assertNew(name: string, path: EntryPath | 'root'): void {
    const key = pathKey(path);
    if (!this.paths.has(key)) {
      this.paths.add(key);
      return;
    }
    throw new InvalidInputError(
      'ZipLayoutInvalid',
      `entry ${JSON.stringify(name)} repeats the name of another entry; which one lands depends on the tool: re-zip it`,
      {
        context: { entry: name },
      },
    );
  }
}

/**
 * A file whose path is also another entry's folder (`a` and `a/b`): one of them cannot be extracted, and
 * which depends on the tool. Symlinks used as folders are refused elsewhere, with their own reason.
 */
function assertNoFileAsFolder(entries: readonly ZipEntry[]): void {
  const files = new Set<string>();
  for (const { path, symlink } of entries) {
    if (path !== 'root' && !path.isDirectory && !symlink) files.add(path.key);
  }
  const inside = firstEntryInside(entries, files);
  if (inside === undefined) return;
  const { name, folder } = inside;
  throw new InvalidInputError(
    'ZipLayoutInvalid',
    `entry ${JSON.stringify(name)} lies inside ${JSON.stringify(folder)}, which the zip also holds as a file; which one lands depends on the tool: re-zip it`,
    { context: { entry: name } },
  );
}

/** Entries that share or interleave their bytes are two readings of one archive. */
function assertOrdered(entries: readonly ZipEntry[], directoryOffset: number): void {
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const next = entries[index + 1];
    if (next !== undefined && next.offset === entry.offset) {
      throw zipInvalid(
        `entries ${JSON.stringify(entry.name)} and ${JSON.stringify(next.name)} share one local header (overlapping entries); re-zip the layer`,
        { entry: next.name },
      );
    }
    if (entry.offset >= directoryOffset) {
      throw zipInvalid(`entry ${JSON.stringify(entry.name)} points to a local header past the entries (at ${entry.offset}); corrupt archive`, {
        entry: entry.name,
      });
    }
  }
}
