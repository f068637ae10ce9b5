import type { TransformOptions } from 'node:stream';
import * as zlib from 'node:zlib';
import { DEFAULT_READ_CONCURRENCY } from '../config';

/**
 * A streaming inflater's output buffer: room for what one 256 KiB write unpacks to up to a ratio of 8
 * (node_modules trees deflate 3 to 5:1), so that zlib fills it in one trip to its thread pool.
 */
export const STREAM_OUTPUT_BYTES = 2 * 1024 * 1024;

/** Output buffers of inflaters that ended cleanly, for the next ones: as many as the default runs inflate at once. */
const spare: Buffer[] = [];
const MAX_SPARE = DEFAULT_READ_CONCURRENCY;

/** A raw inflate stream whose unpacked bytes go to `take` as zlib writes them. */
export interface StreamingInflater {
  readonly stream: zlib.InflateRaw;
  /**
   * Only once the stream has ended and taken all it was written (its last write done): its output
   * buffer then goes to the next inflater. Never after a failure, when a write may still be in zlib's
   * thread pool.
   */
  recycle(): void;
}

/** What Node 20's zlib stream keeps of its output: the buffer zlib writes into next, and where in it. */
interface OutputInternals {
  _outBuffer?: unknown;
  _outOffset?: unknown;
  push(chunk: Buffer | null): boolean;
}

/**
 * Node's zlib stream writes its output into one buffer, pushing each write's part of it as a slice,
 * and makes a new buffer once that one is full. Checking a compressible zip then makes about five
 * times the zip in buffers for the collector, which V8 counts against its limits as external memory
 * (src/heap.ts). Here each slice goes to `take`, which hashes it at once (it must not keep it), and the
 * stream writes its next output over it from the start of the same buffer, which is kept for the next
 * entry: `bench:stream`'s compressible read made one or two full collections instead of five or six
 * (docs/contents.md). Where the stream is not built as expected (another Node.js), its 'data' events
 * carry the output instead, as every stream's do.
 */
export function createStreamingInflater(options: zlib.ZlibOptions & TransformOptions, take: (bytes: Uint8Array) => void): StreamingInflater {
  const stream = zlib.createInflateRaw({ ...options, chunkSize: STREAM_OUTPUT_BYTES });
  return keepOutput(stream, take);
}

/** Exported for the tests, which hand it streams built otherwise. */
export function keepOutput(stream: zlib.InflateRaw, take: (bytes: Uint8Array) => void): StreamingInflater {
  const internals = stream as unknown as OutputInternals;
  const made = internals._outBuffer;
  if (!(made instanceof Buffer) || made.length !== STREAM_OUTPUT_BYTES || internals._outOffset !== 0) {
    stream.on('data', take);
    return { stream, recycle: () => undefined };
  }
  const output = spare.pop() ?? made;
  internals._outBuffer = output;
  const push = internals.push;
  internals.push = (chunk) => {
    if (chunk === null) return push.call(stream, null);
    take(chunk);
    internals._outOffset = 0;
    return true;
  };
  // Flowing, though no 'data' listener: the end of the stream is still its 'end' event.
  stream.resume();
  let recycled = false;
  return {
    stream,
    recycle: () => {
      // Once: a buffer in the spares twice would go to two inflaters.
      if (!recycled && spare.length < MAX_SPARE) spare.push(output);
      recycled = true;
    },
  };
}
