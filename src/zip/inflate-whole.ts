import * as zlib from 'node:zlib';

/** What inflating a whole deflate stream in one call gave. */
export type WholeInflate =
  /** `bytes` are valid until the next call: the caller hashes them, and copies what it keeps, at once. */
  | { readonly kind: 'inflated'; readonly bytes: Uint8Array; readonly consumed: number }
  /** It unpacks to more than `room` bytes: more than the caller will hold. */
  | { readonly kind: 'overflow' };

const OVERFLOW: WholeInflate = { kind: 'overflow' };

/**
 * Up to this much output goes to one buffer kept for every call; a larger entry gets its own. A
 * node_modules tree is mostly files of a few KiB.
 */
const SHARED_OUTPUT_BYTES = 256 * 1024;
/**
 * The most inflateRawSync's output buffers hold, as when the streaming inflater's were this size too:
 * which fault a doubly broken entry is refused for depends on it (test/zip/inflate-whole.test.ts).
 */
const INFLATE_BUFFER_BYTES = 512 * 1024;

/**
 * Inflates `compressed`, the whole of a raw deflate stream, synchronously, into at most `room` bytes;
 * throws zlib's own error (its `code` and message) when the stream is broken or cut short.
 *
 * Most of a layer's entries are small files, and `zlib.inflateRawSync` makes a zlib stream for each: a
 * JavaScript Transform stream and a native engine, made, closed and left to the garbage collector,
 * which then frees each engine's native half. For 20,000 small files on a 2-core machine that was
 * 7.8 µs each of making, and 2-9 ms per young collection, one per ~700 engines; checking a zip of 60,016
 * entries spent 15 % of its time in collections (docs/contents.md). So one engine is kept and reset
 * between entries, driven through the binding `inflateRawSync` itself drives (its `_handle`), into a
 * shared output buffer. A stream that refers back into history it did not write (after stored blocks:
 * `dictionary`) needs an engine made with it, and gets one; so does every stream when the binding is
 * not the one expected (a Node.js that changed it), with the same results.
 */
export function inflateWhole(compressed: Uint8Array, room: number, dictionary?: Uint8Array): WholeInflate {
  if (dictionary === undefined) {
    kept ??= KeptInflater.create(zlib.createInflateRaw()) ?? null;
    const inflater = kept;
    if (inflater !== null) {
      try {
        return inflater.inflate(compressed, room);
      } catch (error) {
        // The engine is left as zlib left it: a new one for the next stream.
        kept = undefined;
        inflater.close();
        throw error;
      }
    }
  }
  return inflateInOneEngine(compressed, room, dictionary);
}

/** The kept engine; null when the binding is not the one expected, and inflateRawSync does every stream. */
let kept: KeptInflater | null | undefined;

/** The binding under a zlib stream: what `inflateRawSync` calls, with the same arguments. */
interface ZlibBinding {
  writeSync(flush: number, input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number, outLength: number): void;
  reset(): void;
  onerror: (message: string, errno: number, code: string) => void;
}

/** One zlib engine, reset for each stream. */
export class KeptInflater {
  private failure: Error | undefined;
  private shared: Buffer | undefined;

  private constructor(
    private readonly engine: zlib.InflateRaw,
    private readonly binding: ZlibBinding,
    /** What the binding reports after each write: output space left, then input left. */
    private readonly writeState: Uint32Array,
  ) {
    // zlib's failures come here, during the write; kept as the error inflateRawSync would throw.
    binding.onerror = (message, errno, code) => {
      this.failure ??= Object.assign(new Error(message), { errno, code });
    };
  }

  /** Undefined, with `engine` closed, when it is not driven the way this class drives it. */
  static create(engine: zlib.InflateRaw): KeptInflater | undefined {
    // Not in Node's typings: the stream's binding and the array its writes report into.
    const { _handle: binding, _writeState: writeState } = engine as unknown as { _handle?: Partial<ZlibBinding> | null; _writeState?: unknown };
    // onerror too: were zlib's failures reported under another name, they would go unseen here.
    const driven = typeof binding?.writeSync === 'function' && typeof binding.reset === 'function' && typeof binding.onerror === 'function';
    if (!driven || !(writeState instanceof Uint32Array)) {
      engine.close();
      return undefined;
    }
    return new KeptInflater(engine, binding as ZlibBinding, writeState);
  }

  /** Throws zlib's error for a broken stream, after which the engine is not used again: close it. */
  inflate(compressed: Uint8Array, room: number): WholeInflate {
    const output = room <= SHARED_OUTPUT_BYTES ? (this.shared ??= Buffer.allocUnsafe(SHARED_OUTPUT_BYTES)) : Buffer.allocUnsafe(room);
    this.binding.reset();
    this.binding.writeSync(zlib.constants.Z_FINISH, compressed, 0, compressed.length, output, 0, room);
    if (this.failure !== undefined) throw this.failure;
    const outputLeft = this.writeState[0]!;
    // Room filled: whether zlib's next output buffer would first meet more bytes, the stream's end or a
    // fault depends on that buffer's size, so the stream is inflated again exactly as inflateRawSync
    // inflates it. Only an entry longer than it declares gets here.
    if (outputLeft === 0) return inflateInOneEngine(compressed, room, undefined);
    return { kind: 'inflated', bytes: output.subarray(0, room - outputLeft), consumed: compressed.length - this.writeState[1]! };
  }

  close(): void {
    this.engine.close();
  }
}

/**
 * A stream of its own for one inflate: Node's `inflateRawSync`, its output buffers sized to the entry.
 * `room` bytes exactly come back as they are (one past what the caller declared: its own size check
 * then says so).
 */
function inflateInOneEngine(compressed: Uint8Array, room: number, dictionary: Uint8Array | undefined): WholeInflate {
  let result: { buffer: Buffer; engine: zlib.InflateRaw };
  try {
    result = zlib.inflateRawSync(compressed, {
      info: true,
      maxOutputLength: room,
      // An output buffer of the entry's size, not zlib's 16 KiB, which is a good part of what a small file
      // costs (4000 package.json files inflated: 22 ms with 16 KiB buffers, 16 ms with 1 KiB).
      chunkSize: Math.min(Math.max(zlib.constants.Z_MIN_CHUNK, room), INFLATE_BUFFER_BYTES),
      ...(dictionary === undefined ? {} : { dictionary }),
    }) as unknown as { buffer: Buffer; engine: zlib.InflateRaw };
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return OVERFLOW;
    throw error;
  }
  return { kind: 'inflated', bytes: result.buffer, consumed: result.engine.bytesWritten };
}
