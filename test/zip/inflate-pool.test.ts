import { once } from 'node:events';
import { setTimeout } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BATCH_MEMORY_BYTES, InflatePool, type PooledEntry, type Tally, batchMemory } from '../../src/zip/inflate-pool';
import { STREAM_OUTPUT_BYTES, createStreamingInflater } from '../../src/zip/inflate-stream';
import { anyHurtStream, textOf, zlibOutcome } from './helpers';

/** No limit in sight: every byte is counted and hashed. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

type Outcome =
  | { kind: 'inflated'; crc: number; length: number; consumed: number }
  /** `length`: what was unpacked before zlib's failure, in the trips that came back. */
  | { kind: 'failed'; code: string | undefined; length: number };

/**
 * Each write here is a round trip to a worker or to zlib's pool, each waited for: 600 KB of random bytes
 * in 1-byte pieces took longer than the test's 30 s. So no stream is cut into more than this many.
 */
const MAX_PIECES = 256;

function pieces(stream: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const cut: Uint8Array[] = [];
  const least = Math.max(1, Math.ceil(stream.length / MAX_PIECES));
  for (let at = 0, index = 0; at < stream.length; index++) {
    const piece = stream.subarray(at, at + Math.max(least, sizes[index % sizes.length]!));
    cut.push(piece);
    at += piece.length;
  }
  return cut;
}

/** The stream written to a pooled entry piece by piece, two replies owed at most, as entry-data.ts writes. */
async function pooledOutcome(pool: InflatePool, stream: Uint8Array, sizes: readonly number[]): Promise<Outcome> {
  const entry = pool.open({ declared: UNBOUNDED, produced: 0, crc: 0 });
  const owed: Promise<Tally>[] = [];
  const tallies: Tally[] = [];
  for (const piece of pieces(stream, sizes)) {
    const input = batchMemory(piece.length);
    input.set(piece);
    owed.push(entry.write(input, UNBOUNDED));
    if (owed.length >= 2) tallies.push(await owed.shift()!);
  }
  owed.push(entry.end(UNBOUNDED));
  tallies.push(...(await Promise.all(owed)));
  const failed = tallies.find((tally) => tally.error !== undefined);
  if (failed !== undefined) return { kind: 'failed', code: failed.error!.code, length: failed.produced };
  const last = tallies.at(-1)!;
  return { kind: 'inflated', crc: last.crc, length: last.produced, consumed: last.consumed };
}

/**
 * The same pieces through a zlib stream whose output is kept (inflate-stream.ts), each inflated before
 * the next is written: the trips the pool must match.
 */
async function streamedOutcome(stream: Uint8Array, sizes: readonly number[]): Promise<Outcome> {
  let crc = 0;
  let length = 0;
  const inflater = createStreamingInflater({}, (bytes) => {
    crc = zlib.crc32(bytes, crc);
    length += bytes.length;
  });
  const ended = once(inflater.stream, 'end');
  try {
    for (const piece of pieces(stream, sizes)) {
      // Each write inflated before the end: a piece still queued at end() would share the final flush's trip.
      const written = new Promise((resolve) => inflater.stream.write(piece, resolve));
      await Promise.race([written, ended]);
    }
    inflater.stream.end();
    await ended;
  } catch (error) {
    return { kind: 'failed', code: (error as { code?: string }).code, length };
  }
  return { kind: 'inflated', crc, length, consumed: inflater.stream.bytesWritten };
}

describe('the inflate pool', () => {
  const pool = new InflatePool(2);

  it('says what zlib says of every stream, and fails in the trip a zlib stream fails in, several entries at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyHurtStream, { minLength: 1, maxLength: 6 }), async (streams) => {
        const pooled = await Promise.all(streams.map(({ stream, pieces }) => pooledOutcome(pool, stream, pieces)));
        const streamed = await Promise.all(streams.map(({ stream, pieces }) => streamedOutcome(stream, pieces)));
        expect(pooled).toEqual(streamed);
        expect(pooled.map((outcome) => (outcome.kind === 'failed' ? { kind: 'failed', code: outcome.code } : outcome))).toEqual(
          streams.map(({ stream }) => zlibOutcome(stream)),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('takes up after bytes unpacked before it, with their history: the CRC-32 runs on from theirs', async () => {
    const data = textOf(3_000_000, 5);
    const head = data.subarray(0, 100_000);
    const tail = data.subarray(100_000);
    const stream = zlib.deflateRawSync(tail, { dictionary: head });
    const entry = pool.open({ declared: data.length, produced: head.length, crc: zlib.crc32(head), dictionary: head });
    const input = batchMemory(stream.length);
    input.set(stream);
    await entry.write(input, data.length);
    expect(await entry.end(data.length)).toEqual({ produced: data.length, crc: zlib.crc32(data), consumed: stream.length });
  });

  it('counts bytes past the declared size without hashing them, and stops at the first trip past the room it is given', async () => {
    const data = Buffer.alloc(64 * 1024 * 1024);
    const stream = zlib.deflateRawSync(data);
    const trip = STREAM_OUTPUT_BYTES;
    // Zeros fill the whole output buffer in every trip: 2 trips within the declared size, the third past the room.
    const entry = pool.open({ declared: 2 * trip, produced: 0, crc: 0 });
    const input = batchMemory(stream.length);
    input.set(stream);
    const tally = await entry.write(input, 2 * trip + 1000);
    expect(tally).toMatchObject({ stopped: true, produced: 3 * trip, crc: zlib.crc32(data.subarray(0, 2 * trip)) });
    expect(tally.consumed).toBeLessThan(stream.length);
  });

  it('gives the input memory back for the next batch', async () => {
    const stream = zlib.deflateRawSync(textOf(10_000, 1));
    const entry: PooledEntry = pool.open({ declared: UNBOUNDED, produced: 0, crc: 0 });
    // Larger than any batch of this file's other tests, so that only this one can come back this large.
    const large = 5 * BATCH_MEMORY_BYTES;
    const input = batchMemory(large).subarray(0, stream.length);
    input.set(stream);
    const written = entry.write(input, UNBOUNDED);
    // Gone to the worker: nothing here views it any more.
    expect(input.byteLength).toBe(0);
    await written;
    await entry.end(UNBOUNDED);
    expect(batchMemory(BATCH_MEMORY_BYTES + 1).buffer.byteLength).toBe(large);
  });

  it('drops the engine of an entry its reader let go, once the collector has the entry', async () => {
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const own = new InflatePool(2);
    const stream = zlib.deflateRawSync(textOf(1_000_000, 3));
    const batchOf = (bytes: Uint8Array) => {
      const input = batchMemory(bytes.length);
      input.set(bytes);
      return input;
    };
    let entry: PooledEntry | undefined = own.open({ declared: UNBOUNDED, produced: 0, crc: 0 });
    // Its write alone, as a reader that failed elsewhere might leave a promise behind: it holds no reference to the entry.
    const { write } = entry;
    expect((await write(batchOf(stream.subarray(0, 1000)), UNBOUNDED)).error).toBeUndefined();
    entry = undefined;
    let answer: Tally | undefined;
    for (let round = 0; round < 50 && answer?.error === undefined; round++) {
      collect();
      await setTimeout(20);
      answer = await write(batchOf(stream.subarray(1000, 1001)), UNBOUNDED);
    }
    expect(answer?.error?.message).toBe('no such entry open in the inflating worker');
  });

  it('fails the entries of a worker that dies, and is no longer used', async () => {
    const own = new InflatePool(2);
    const stream = zlib.deflateRawSync(textOf(50_000, 2));
    // A dictionary zlib refuses to take throws in the worker, outside any entry's handling: the worker dies.
    const doomed = own.open({ declared: UNBOUNDED, produced: 0, crc: 0, dictionary: 'not bytes' as unknown as Uint8Array });
    const fine = own.open({ declared: UNBOUNDED, produced: 0, crc: 0 });
    await expect(doomed.end(UNBOUNDED)).rejects.toThrow(/^the inflating worker thread failed: .*dictionary/);
    expect(own.usable).toBe(false);
    // The other worker's entry is not its concern.
    const input = batchMemory(stream.length);
    input.set(stream);
    await fine.write(input, UNBOUNDED);
    expect(await fine.end(UNBOUNDED)).toEqual({ produced: 50_000, crc: zlib.crc32(textOf(50_000, 2)), consumed: stream.length });
  });
});
