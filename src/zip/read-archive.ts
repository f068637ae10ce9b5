import { Crc64, crc64Combine } from '../checksum';
import { DEFAULT_MAX_UNPACKED_BYTES } from '../config';
import { PublisherError } from '../errors';
import { tuneHeapForInflating } from '../heap';
import { zipInvalid } from './bytes';
import { CentralDirectoryParser } from './central-directory';
import { type CentralDirectoryLocation, MIN_TAIL_BYTES, locateCentralDirectory } from './end-record';
import { type FoundPackages, PackageCollector } from './contents';
import type { ZipEntry } from './entry';
import { EntryWalker } from './entry-walker';
import type { ZipContents } from './layout';
import { SNIFF_BYTES, assertZipSignature } from './sniff';
import { assertLinkInside, assertNothingInsideLinks, linkPaths } from './symlinks';
import { UnpackedLimit } from './unpacked-limit';

/** Inclusive byte positions, as in a `Range` header. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A chunk is not written to again once handed on: the entry checks keep references to parts of it (a
 * header split across chunks, a small entry's data, the history a compressed block may refer back into).
 */
export type OnChunk = (chunk: Uint8Array, position: number) => void | Promise<void>;

/** Where the archive's bytes come from: an OSS object, a local file. */
export interface ByteSource {
  readonly size: number;
  /** Streams the range to `onChunk` in order, awaiting it; stops when `signal` aborts. */
  read(range: ByteRange, onChunk: OnChunk, signal: AbortSignal): Promise<void>;
  /** How many reads may run at once; asked after the first read, which may show the source serves no ranges. */
  concurrency(): number;
}

export interface ArchiveReadOptions {
  /** How many of the archive's last bytes are read first; at least MIN_TAIL_BYTES. */
  tailBytes?: number;
  /** Off only to measure what the entry checks cost (npm run bench:stream). */
  verifyEntries?: boolean;
  /** MAX_UNPACKED_BYTES: the most the entries may unpack to together (ZipTooLarge past it). */
  maxUnpackedBytes?: number;
  /** Off only to measure what gathering the packages costs (npm run bench:stream). */
  gatherContents?: boolean;
}

export interface ArchiveRead {
  /** CRC-64/ECMA-182 of every byte, as OSS reports it. */
  crc64: string;
  contents: ZipContents;
  /** What the entries unpack to together: declared, and held to it entry by entry when they were checked. */
  unpackedBytes: number;
  /** The packages found in the entries; absent when they were not read (no entry checks, or no gathering asked). */
  packages?: FoundPackages;
}

/** Holds the end record and the central directory of all but the largest layers (~10,000 entries). */
export const DEFAULT_TAIL_BYTES = 1024 * 1024;

/**
 * Below this a range costs more in request round trips than it gains in bandwidth.
 */
export const MIN_RANGE_BYTES = 8 * 1024 * 1024;

/** Up to `concurrency` contiguous ranges of at least MIN_RANGE_BYTES covering `size` bytes. */
export function planRanges(size: number, concurrency: number): ByteRange[] {
  const count = rangeCount(size, concurrency);
  const ranges: ByteRange[] = [];
  for (let index = 0; index < count; index++) {
    const start = Math.floor((size * index) / count);
    ranges.push({ start, end: Math.floor((size * (index + 1)) / count) - 1 });
  }
  return ranges;
}

function rangeCount(size: number, concurrency: number): number {
  return Math.max(1, Math.min(concurrency, Math.floor(size / MIN_RANGE_BYTES)));
}

/** A run of whole entries read by one request: the run's bytes, and those of the tail it goes on into. */
interface Span {
  readonly start: number;
  /** Exclusive: where the request stops. */
  readonly streamEnd: number;
  readonly entries: readonly ZipEntry[];
  /** Where the run's last record must end: the next run's first local header, or the central directory. */
  readonly end: number;
  readonly last: boolean;
}

/**
 * Reads a zip once, every byte exactly once, in flat memory (docs/contract.md §4, §5 step 4): first its tail, for
 * the end record and central directory, which say where every entry lies; then the entries, split into
 * up to `concurrency` runs of whole entries read at once, each walked as it streams (local headers
 * compared, data CRC-32-checked and inflated). Each run's CRC-64 is combined into the object's. The
 * first read of a process sets V8's heap growing factor for the buffers inflating makes (src/heap.ts).
 */
export async function readArchive(source: ByteSource, options: ArchiveReadOptions = {}): Promise<ArchiveRead> {
  const { size } = source;
  const tailBytes = options.tailBytes ?? DEFAULT_TAIL_BYTES;
  if (!Number.isSafeInteger(tailBytes) || tailBytes < MIN_TAIL_BYTES) {
    throw new RangeError(`tailBytes must be an integer of at least ${MIN_TAIL_BYTES}, not ${tailBytes}`);
  }
  if (size === 0) throw zipInvalid('the object is empty (0 bytes); upload the layer zip again');
  tuneHeapForInflating();
  const abort = new AbortController();
  const parts: { start: number; length: number; crc64: string }[] = [];
  // Every read in flight stops at the first failure: the one to report; the others are its echo.
  const read = async (range: ByteRange, onChunk: OnChunk): Promise<void> => {
    const crc = new Crc64();
    try {
      await source.read(
        range,
        async (chunk, position) => {
          crc.update(chunk);
          await onChunk(chunk, position);
        },
        abort.signal,
      );
    } catch (error) {
      if (!abort.signal.aborted) abort.abort(error);
      throw abort.signal.reason;
    }
    parts.push({ start: range.start, length: range.end - range.start + 1, crc64: crc.digest() });
  };

  const tailStart = Math.max(0, size - tailBytes);
  // Buffers, as the chunks of every source are: code that reads both sees one kind of array (V8 then
  // optimizes it once; a plain Uint8Array here cost the first checked read ~7 % more CPU: docs/contents.md).
  const tail = Buffer.alloc(size - tailStart);
  await read({ start: tailStart, end: size - 1 }, (chunk, position) => tail.set(chunk, position - tailStart));
  const location = await locate(tail, tailStart, read);
  const entries = await readDirectory(location, tail, tailStart, read);
  // Before any byte is inflated: the central directory's own sizes.
  const limit = new UnpackedLimit(options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES, entries.unpackedBytes);
  const links = linkPaths(entries.entries);
  assertNothingInsideLinks(entries.entries, links);

  const streamedEnd = Math.min(location.offset, tailStart);
  const concurrency = source.concurrency();
  const collector = options.verifyEntries === false || options.gatherContents === false ? undefined : new PackageCollector();
  const contextOf = (entry: ZipEntry) => ({ limit, tap: collector?.tap(entry) });
  if (options.verifyEntries === false) {
    await Promise.all(
      planRanges(streamedEnd, concurrency)
        .filter((range) => range.end >= range.start)
        .map((range) => read(range, () => undefined)),
    );
  } else {
    const onLink = (entry: ZipEntry, target: Uint8Array) => assertLinkInside(entry, target, links);
    const tailEntries = tail.subarray(0, Math.max(0, location.offset - tailStart));
    await Promise.all(
      planSpans(entries.entries, location.offset, streamedEnd, concurrency).map(async (span) => {
        const walker = new EntryWalker(span.entries, span.end, span.start, onLink, contextOf);
        if (span.streamEnd > span.start) await read({ start: span.start, end: span.streamEnd - 1 }, (chunk) => walker.push(chunk));
        if (span.last) await walker.push(tailEntries);
        await walker.end();
      }),
    );
  }
  parts.sort((a, b) => a.start - b.start);
  const crc64 = parts.slice(1).reduce((whole, part) => crc64Combine(whole, part.crc64, part.length), parts[0]!.crc64);
  const archive = { crc64, contents: { entryCount: location.entryCount, layout: entries.layout }, unpackedBytes: entries.unpackedBytes };
  return collector === undefined ? archive : { ...archive, packages: collector.result() };
}

type Read = (range: ByteRange, onChunk: OnChunk) => Promise<void>;

/** The end records; for bytes that hold none, what the first bytes say they are instead. */
async function locate(tail: Uint8Array, tailStart: number, read: Read): Promise<CentralDirectoryLocation> {
  let location: CentralDirectoryLocation;
  try {
    location = locateCentralDirectory(tail, tailStart);
  } catch (error) {
    if (!(error instanceof PublisherError) || error.context.endRecord !== 'missing') throw error;
    const head = tailStart === 0 ? tail.subarray(0, SNIFF_BYTES) : Buffer.alloc(Math.min(SNIFF_BYTES, tailStart));
    if (tailStart > 0) await read({ start: 0, end: head.length - 1 }, (chunk, position) => head.set(chunk, position));
    assertZipSignature(head);
    throw error;
  }
  if (location.entryCount === 0) throw zipInvalid('the zip archive has no entries');
  return location;
}

/** The central directory, from the tail, and from a read of its first bytes when they lie before it. */
async function readDirectory(location: CentralDirectoryLocation, tail: Uint8Array, tailStart: number, read: Read) {
  const parser = new CentralDirectoryParser(location);
  if (location.offset < tailStart) await read({ start: location.offset, end: tailStart - 1 }, (chunk) => parser.push(chunk));
  const from = Math.max(0, location.offset - tailStart);
  parser.push(tail.subarray(from, location.offset + location.size - tailStart));
  return parser.end();
}

/**
 * Up to `concurrency` runs over [0, streamedEnd), each cut where an entry's local header begins so that
 * every run walks whole entries on its own; a large entry is never split, so a run may be long.
 */
function planSpans(entries: readonly ZipEntry[], directoryOffset: number, streamedEnd: number, concurrency: number): Span[] {
  const count = rangeCount(streamedEnd, concurrency);
  const cuts: number[] = [0];
  for (let part = 1; part < count; part++) {
    const target = Math.floor((streamedEnd * part) / count);
    const index = entries.findIndex((entry, at) => at > cuts.at(-1)! && entry.offset >= target);
    if (index > 0 && entries[index]!.offset < streamedEnd) cuts.push(index);
  }
  return cuts.map((from, part) => {
    const to = cuts[part + 1];
    return {
      start: from === 0 ? 0 : entries[from]!.offset,
      streamEnd: to === undefined ? streamedEnd : entries[to]!.offset,
      entries: entries.slice(from, to),
      end: to === undefined ? directoryOffset : entries[to]!.offset,
      last: to === undefined,
    };
  });
}
