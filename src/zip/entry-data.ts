import type { TransformOptions } from 'node:stream';
import type * as zlib from 'node:zlib';
import { PublisherError } from '../errors';
import { copyOf, hexNumber, joined, zipInvalid } from './bytes';
import type { PackageTap } from './contents';
import { crc32 } from './crc32';
import { METHOD, type ZipEntry } from './entry';
import { type InflatePool, type PooledEntry, type Tally, batchMemory, inflatePool } from './inflate-pool';
import { type StreamingInflater, createStreamingInflater } from './inflate-stream';
import { type WholeInflate, inflateWhole } from './inflate-whole';
import { StoredBlocks } from './stored-blocks';
import { MAX_LINK_TARGET_BYTES } from './symlinks';
import type { UnpackedLimit } from './unpacked-limit';

/** Checks one entry's data as it streams by: what it unpacks to must match its CRC-32 and size. */
export interface DataCheck {
  push(chunk: Uint8Array): void | Promise<void>;
  /**
   * After the last byte: the first bytes unpacked when the entry is a symlink (its target). A promise only
   * when the check has to wait (an inflater still working): most entries end at once.
   */
  end(): Ended;
}

type Ended = Uint8Array | undefined | Promise<Uint8Array | undefined>;

/**
 * Small deflated entries (most of a node_modules tree) are inflated in one synchronous call: a stream
 * costs a thread-pool round trip per entry. Both bounds keep what is held per entry small.
 */
const SYNC_MAX_COMPRESSED = 256 * 1024;
const SYNC_MAX_UNCOMPRESSED = 4 * 1024 * 1024;
/**
 * What the streaming inflater is handed per write (socket chunks of 64 KiB, gathered); its output buffer
 * is kept (inflate-stream.ts). Each write, and each output buffer filled, is a round trip to zlib's
 * thread pool, so the bigger the cheaper per byte: zlib copying 48 MiB of stored blocks, read from memory
 * on a 2-core machine, ran at 1527-2004 MB/s with 1 MiB, 1090-1199 with 256 KiB (64 KiB writes: 152-185).
 * But a buffer still alive at its second scavenge moves to V8's old generation and waits there for a full
 * collection (src/heap.ts). With four ranges inflating at once, each at a quarter of the rate, gathering
 * 1 MiB took that long: 14-18 full collections per read of the compressible zip in `bench:stream`, and
 * +43 to +59 MiB of peak RSS over the raw GET, against 4-6 and +31 with 256 KiB (then with 512 KiB output
 * buffers, made anew as each filled). docs/contents.md has the table.
 */
const INFLATE_INPUT_BYTES = 256 * 1024;
/**
 * Node's zlib passes its options on to the Transform stream it is: room for one write queued behind the
 * one inflating, so that the next batch is read and hashed meanwhile.
 */
const INFLATER_OPTIONS: zlib.ZlibOptions & TransformOptions = { writableHighWaterMark: 2 * INFLATE_INPUT_BYTES };

/** What an entry's unpacked bytes also answer to: the archive's MAX_UNPACKED_BYTES, and a package file's tap. */
export interface EntryContext {
  readonly limit: UnpackedLimit;
  readonly tap?: PackageTap | undefined;
}

export function checkData(entry: ZipEntry, context: EntryContext): DataCheck {
  const unpacked = new Unpacked(entry, context);
  return entry.method === METHOD.stored ? new StoredCheck(unpacked) : new DeflateCheck(entry, unpacked);
}

function broken(entry: ZipEntry, why: string): PublisherError {
  return zipInvalid(`entry ${JSON.stringify(entry.name)} ${why}: the archive is corrupt or truncated; build the zip again`, {
    entry: entry.name,
  });
}

/**
 * What the unpacked bytes must come to, and a symlink's target kept aside. Bytes past the declared size
 * are only counted, against MAX_UNPACKED_BYTES: whether the entry is corrupt (ZipInvalid at its end)
 * or a bomb lying about its size (ZipTooLarge as soon as the archive passes the limit).
 */
class Unpacked {
  private crc = 0;
  private size = 0;
  private readonly link: Uint8Array[] = [];
  private linkBytes = 0;

  constructor(
    private readonly entry: ZipEntry,
    private readonly context: EntryContext,
  ) {}

  /** How many bytes the entry has unpacked to so far. */
  get produced(): number {
    return this.size;
  }

  add(bytes: Uint8Array): void {
    if (!this.grow(this.size + bytes.length)) return;
    this.crc = crc32(bytes, this.crc);
    this.context.tap?.add(bytes);
    if (this.entry.symlink && this.linkBytes < MAX_LINK_TARGET_BYTES) {
      const kept = bytes.subarray(0, MAX_LINK_TARGET_BYTES - this.linkBytes);
      this.link.push(copyOf(kept));
      this.linkBytes += kept.length;
    }
  }

  /** Whether the bytes themselves are wanted (a package file's tap, a symlink's target), not only their size and CRC-32. */
  get wantsBytes(): boolean {
    return this.context.tap !== undefined || this.entry.symlink;
  }

  /** Where an inflater elsewhere takes up: the size and CRC-32 so far. */
  get running(): { readonly produced: number; readonly crc: number } {
    return { produced: this.size, crc: this.crc };
  }

  /** The most the entry may unpack to before the archive passes MAX_UNPACKED_BYTES. */
  get room(): number {
    return Math.max(this.size, this.entry.uncompressedSize) + this.context.limit.overrunAllowed;
  }

  /**
   * What an inflater elsewhere (inflate-pool.ts) unpacked so far: its size, and its CRC-32 taken over
   * the same pieces `add` would have hashed. Bytes past the declared size count against the limit here.
   */
  tally(produced: number, crc: number): void {
    this.grow(produced);
    this.crc = crc;
  }

  /** The entry has now unpacked to `size` bytes: whether that is within its declared size; past it, the excess counts against the limit. */
  private grow(size: number): boolean {
    const declared = this.entry.uncompressedSize;
    const before = this.size;
    this.size = size;
    if (size <= declared) return true;
    this.context.limit.addOverrun(this.entry, size - Math.max(before, declared));
    return false;
  }

  /** The entry's failure when it unpacked past its declared size, whatever else went wrong after. */
  overrun(): PublisherError | undefined {
    return this.size > this.entry.uncompressedSize
      ? broken(this.entry, `unpacks to more than the ${this.entry.uncompressedSize} bytes its header declares`)
      : undefined;
  }

  finish(): Uint8Array | undefined {
    const overrun = this.overrun();
    if (overrun !== undefined) throw overrun;
    if (this.size !== this.entry.uncompressedSize) {
      throw broken(this.entry, `unpacks to ${this.size} bytes, not the ${this.entry.uncompressedSize} its header declares`);
    }
    if (this.crc !== this.entry.crc32) {
      throw broken(this.entry, `fails its CRC-32 check (data ${hexNumber(this.crc, 8)}, header ${hexNumber(this.entry.crc32, 8)})`);
    }
    this.context.tap?.finish();
    return this.entry.symlink ? Buffer.concat(this.link) : undefined;
  }
}

class StoredCheck implements DataCheck {
  constructor(private readonly unpacked: Unpacked) {}

  push(chunk: Uint8Array): void {
    this.unpacked.add(chunk);
  }

  end(): Ended {
    return this.unpacked.finish();
  }
}

/** Where zlib takes a deflate stream up: after the stored blocks read before it, with their last bytes as history. */
interface Resumed {
  readonly consumed: number;
  readonly dictionary?: Uint8Array | undefined;
}

/**
 * A deflated entry: its leading stored blocks read as they are (stored-blocks.ts), and from the first
 * block that is not stored, zlib. Data deflate could not shrink (most of an incompressible entry) thus
 * costs what a stored entry costs.
 */
class DeflateCheck implements DataCheck {
  private readonly blocks = new StoredBlocks();
  private inflater: DataCheck | undefined;
  private ended = false;
  /** One per entry, not one per chunk: the stored-block path is the hot one on incompressible data. */
  private readonly emit = (bytes: Uint8Array): void => this.unpacked.add(bytes);

  constructor(
    private readonly entry: ZipEntry,
    private readonly unpacked: Unpacked,
  ) {}

  push(chunk: Uint8Array): void | Promise<void> {
    if (this.inflater !== undefined) return this.inflater.push(chunk);
    // Past the final block: not the stream's, and the end's consumed-bytes check says so.
    if (this.ended) return;
    const step = this.blocks.push(chunk, this.emit);
    switch (step.kind) {
      case 'more':
        return;
      case 'ended':
        this.ended = true;
        return;
      case 'broken':
        throw this.unpacked.overrun() ?? broken(this.entry, `has broken deflate data (${step.why})`);
      case 'compressed':
        this.inflater = this.inflaterFrom({ consumed: this.blocks.consumed, dictionary: this.blocks.dictionary() });
        return this.inflater.push(chunk.subarray(step.at));
    }
  }

  end(): Ended {
    if (this.inflater !== undefined) return this.inflater.end();
    const overrun = this.unpacked.overrun();
    if (overrun !== undefined) throw overrun;
    if (!this.ended) throw broken(this.entry, 'has a deflate stream cut short');
    assertConsumedAll(this.entry, this.blocks.consumed);
    return this.unpacked.finish();
  }

  /**
   * What is left of a small entry is inflated in one synchronous call; a large one by the worker pool
   * where there is one (its bytes stay there), else by a zlib stream.
   */
  private inflaterFrom(resumed: Resumed): DataCheck {
    const { compressedSize, uncompressedSize } = this.entry;
    const small = compressedSize - resumed.consumed <= SYNC_MAX_COMPRESSED && uncompressedSize <= SYNC_MAX_UNCOMPRESSED;
    if (small && this.unpacked.produced <= uncompressedSize) return new BufferedInflate(this.entry, this.unpacked, resumed);
    const pool = this.unpacked.wantsBytes ? undefined : inflatePool();
    return pool === undefined ? new StreamingInflate(this.entry, this.unpacked, resumed) : new PooledInflate(this.entry, this.unpacked, resumed, pool);
  }
}

class BufferedInflate implements DataCheck {
  private readonly chunks: Uint8Array[] = [];

  constructor(
    private readonly entry: ZipEntry,
    private readonly unpacked: Unpacked,
    private readonly resumed: Resumed,
  ) {}

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }

  end(): Ended {
    const { entry, unpacked, resumed } = this;
    const compressed = joined(this.chunks);
    let inflated: WholeInflate;
    try {
      // One byte of room past the declared size, so that a longer stream is seen as such.
      inflated = inflateWhole(compressed, entry.uncompressedSize - unpacked.produced + 1, resumed.dictionary);
    } catch (error) {
      throw inflateFailure(entry, error);
    }
    // Longer than declared: streamed again, so that what it really unpacks to is counted, not held.
    if (inflated.kind === 'overflow') return streamAgain(new StreamingInflate(entry, unpacked, resumed), compressed);
    assertConsumedAll(entry, resumed.consumed + inflated.consumed);
    // At once: the bytes lie in a buffer the next entry's inflate writes over (inflate-whole.ts).
    unpacked.add(inflated.bytes);
    return unpacked.finish();
  }
}

/** Chunks gathered into the batches a large entry's inflater is written (INFLATE_INPUT_BYTES each). */
class Gathered {
  private parts: Uint8Array[] = [];
  private size = 0;

  get bytes(): number {
    return this.size;
  }

  /** Whether a batch's worth has gathered. */
  add(chunk: Uint8Array): boolean {
    this.parts.push(chunk);
    this.size += chunk.length;
    return this.size >= INFLATE_INPUT_BYTES;
  }

  /** The chunks gathered so far, handed over and forgotten here. */
  take(): { parts: Uint8Array[]; bytes: number } {
    const taken = { parts: this.parts, bytes: this.size };
    this.parts = [];
    this.size = 0;
    return taken;
  }
}

class StreamingInflate implements DataCheck {
  private readonly streaming: StreamingInflater;
  private readonly done: Promise<void>;
  private readonly gathered = new Gathered();

  constructor(
    private readonly entry: ZipEntry,
    private readonly unpacked: Unpacked,
    private readonly resumed: Resumed,
  ) {
    const { dictionary } = resumed;
    this.streaming = createStreamingInflater(dictionary === undefined ? INFLATER_OPTIONS : { ...INFLATER_OPTIONS, dictionary }, (bytes) => {
      try {
        this.unpacked.add(bytes);
      } catch (error) {
        this.inflater.destroy(error as Error);
      }
    });
    this.done = new Promise((resolve, reject) => {
      this.inflater.once('end', resolve);
      // on, not once: a second error (a destroy racing zlib's own) must not go unhandled.
      this.inflater.on('error', reject);
    });
    // Awaited in push or end; until then a failure must not count as unhandled.
    this.done.catch(() => undefined);
  }

  private get inflater(): zlib.InflateRaw {
    return this.streaming.stream;
  }

  async push(chunk: Uint8Array): Promise<void> {
    if (this.gathered.add(chunk)) await this.write();
  }

  async end(): Promise<Uint8Array | undefined> {
    if (this.gathered.bytes > 0) await this.write();
    this.inflater.end();
    try {
      await this.done;
    } catch (error) {
      throw this.failure(error);
    }
    const overrun = this.unpacked.overrun();
    if (overrun !== undefined) throw overrun;
    assertConsumedAll(this.entry, this.resumed.consumed + this.inflater.bytesWritten);
    // Ended, every byte taken: no write of this stream is left in zlib's pool.
    this.streaming.recycle();
    return this.unpacked.finish();
  }

  /** The gathered chunks as one write, waiting while the inflater is behind. */
  private async write(): Promise<void> {
    const { parts, bytes } = this.gathered.take();
    if (this.inflater.write(joined(parts, bytes))) return;
    await Promise.race([new Promise((resolve) => this.inflater.once('drain', resolve)), this.failed()]);
  }

  private async failed(): Promise<never> {
    try {
      await this.done;
    } catch (error) {
      throw this.failure(error);
    }
    throw this.unpacked.overrun() ?? broken(this.entry, 'ends its deflate stream before its compressed data ends');
  }

  /** Ours (ZipTooLarge) as it is; zlib's comes after an overrun, which is what the entry did wrong first. */
  private failure(error: unknown): unknown {
    return error instanceof PublisherError ? error : (this.unpacked.overrun() ?? inflateFailure(this.entry, error));
  }
}

/** Writes owed a reply at once: the next batch is read and gathered while the worker inflates one. */
const POOLED_WRITES_IN_FLIGHT = 2;

/**
 * A large entry inflated by a worker thread (inflate-pool.ts): its size and CRC-32 come back, not its
 * bytes. Its writes are the batches a zlib stream would be written, so zlib meets the same bytes in the
 * same trips and fails where the stream would.
 */
class PooledInflate implements DataCheck {
  private readonly pooled: PooledEntry;
  private readonly gathered = new Gathered();
  /** Replies owed, oldest first; each applies its tally as it comes, in the order the worker answers. */
  private readonly owed: Promise<void>[] = [];
  private consumed = 0;

  constructor(
    private readonly entry: ZipEntry,
    private readonly unpacked: Unpacked,
    private readonly resumed: Resumed,
    pool: InflatePool,
  ) {
    this.pooled = pool.open({ declared: entry.uncompressedSize, ...unpacked.running, dictionary: resumed.dictionary });
  }

  async push(chunk: Uint8Array): Promise<void> {
    if (!this.gathered.add(chunk)) return;
    this.owe(this.pooled.write(this.batch(), this.unpacked.room));
    if (this.owed.length >= POOLED_WRITES_IN_FLIGHT) await this.owed.shift();
  }

  async end(): Promise<Uint8Array | undefined> {
    if (this.gathered.bytes > 0) this.owe(this.pooled.write(this.batch(), this.unpacked.room));
    this.owe(this.pooled.end(this.unpacked.room));
    for (const reply of this.owed.splice(0)) await reply;
    const overrun = this.unpacked.overrun();
    if (overrun !== undefined) throw overrun;
    assertConsumedAll(this.entry, this.resumed.consumed + this.consumed);
    return this.unpacked.finish();
  }

  /** The gathered chunks copied into memory that goes to the worker and back: socket chunks may be viewed elsewhere. */
  private batch(): Uint8Array {
    const { parts, bytes } = this.gathered.take();
    const batch = batchMemory(bytes);
    let at = 0;
    for (const part of parts) {
      batch.set(part, at);
      at += part.length;
    }
    return batch;
  }

  private owe(reply: Promise<Tally>): void {
    const applied = reply.then((tally) => this.apply(tally));
    // Awaited in push or end; until then a failure must not count as unhandled.
    applied.catch(() => undefined);
    this.owed.push(applied);
  }

  /** As a zlib stream's output and failure come: the bytes counted first, then zlib's error. */
  private apply(tally: Tally): void {
    this.unpacked.tally(tally.produced, tally.crc);
    this.consumed = tally.consumed;
    if (tally.error !== undefined) {
      throw this.unpacked.overrun() ?? inflateFailure(this.entry, Object.assign(new Error(tally.error.message), { code: tally.error.code }));
    }
    // A stop comes only past the archive's limit, which `tally` has just refused.
    if (tally.stopped === true) throw new Error(`the inflating worker stopped entry ${JSON.stringify(this.entry.name)} short of MAX_UNPACKED_BYTES`);
  }
}

async function streamAgain(streamed: StreamingInflate, compressed: Uint8Array): Promise<Uint8Array | undefined> {
  await streamed.push(compressed);
  return streamed.end();
}

function inflateFailure(entry: ZipEntry, error: unknown): unknown {
  if (error instanceof PublisherError) return error;
  const code = (error as { code?: string }).code;
  if (code === 'Z_BUF_ERROR') return broken(entry, 'has a deflate stream cut short');
  return broken(entry, `has broken deflate data (${error instanceof Error ? error.message : String(error)})`);
}

/** A deflate stream that ends before the entry's compressed bytes do leaves bytes no extractor reads. */
function assertConsumedAll(entry: ZipEntry, consumed: number): void {
  if (consumed !== entry.compressedSize) {
    throw broken(entry, `ends its deflate stream after ${consumed} of its ${entry.compressedSize} compressed bytes`);
  }
}
