import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeptInflater, type WholeInflate, inflateWhole } from '../../src/zip/inflate-whole';
import { hurtStream, streamHurt, textOf } from './helpers';

type Outcome = { kind: 'inflated'; bytes: string; consumed: number } | { kind: 'overflow' } | { kind: 'failed'; code: string; message: string };

/**
 * What zlib's own one-call inflate says of the stream, in inflateWhole's terms, with the options
 * src/zip/entry-data.ts gave it for every small entry before inflate-whole.ts: output buffers of the
 * entry's size, up to 512 KiB. Which of two faults an entry is refused for (longer than declared, broken
 * further on) depends on them, and the verdicts must not change.
 */
function zlibOutcome(stream: Uint8Array, room: number, dictionary?: Uint8Array): Outcome {
  try {
    const chunkSize = Math.min(Math.max(zlib.constants.Z_MIN_CHUNK, room), 512 * 1024);
    const result = zlib.inflateRawSync(stream, { info: true, maxOutputLength: room, chunkSize, ...(dictionary ? { dictionary } : {}) }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    return { kind: 'inflated', bytes: result.buffer.toString('hex'), consumed: result.engine.bytesWritten };
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return code === 'ERR_BUFFER_TOO_LARGE' ? { kind: 'overflow' } : { kind: 'failed', code, message };
  }
}

function ourOutcome(stream: Uint8Array, room: number, dictionary?: Uint8Array): Outcome {
  let result: WholeInflate;
  try {
    result = inflateWhole(stream, room, dictionary);
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { kind: 'failed', code, message };
  }
  return result.kind === 'overflow' ? result : { kind: 'inflated', bytes: Buffer.from(result.bytes).toString('hex'), consumed: result.consumed };
}

/** A deflate stream, hurt or not, and what it was made from. */
const damagedStream = fc
  .record({
    size: fc.integer({ min: 0, max: 20_000 }),
    seed: fc.integer({ min: 0, max: 1000 }),
    random: fc.boolean(),
    level: fc.constantFrom(0, 1, 6, 9),
    hurt: streamHurt,
    // The room the caller gives: the declared size plus one, or a declared size that is too small.
    short: fc.constantFrom(0, 0, 1, 2, 100),
  })
  .map(({ size, seed, random, level, hurt, short }) => {
    const data = random ? randomBytes(size) : textOf(size, seed);
    return { stream: hurtStream(zlib.deflateRawSync(data, { level }), hurt), room: Math.max(1, data.length + 1 - short) };
  });

describe('inflateWhole', () => {
  it('says what zlib says of every stream, whole, cut, damaged or too long, one after another on the same engine', () => {
    fc.assert(
      fc.property(fc.array(damagedStream, { minLength: 1, maxLength: 12 }), (streams) => {
        // In turn, so that the kept engine meets each stream after the last one's success or failure.
        for (const { stream, room } of streams) expect(ourOutcome(stream, room)).toEqual(zlibOutcome(stream, room));
      }),
      { numRuns: 300 },
    );
  });

  it('inflates a stream that refers back into a dictionary, as zlib does with it', () => {
    const history = textOf(40_000, 7);
    const data = Buffer.concat([history.subarray(30_000, 38_000), Buffer.from('and the end')]);
    const stream = zlib.deflateRawSync(data, { dictionary: history.subarray(history.length - 32 * 1024) });
    const dictionary = history.subarray(history.length - 32 * 1024);
    expect(ourOutcome(stream, data.length + 1, dictionary)).toEqual({ kind: 'inflated', bytes: data.toString('hex'), consumed: stream.length });
    expect(ourOutcome(stream, data.length + 1)).toEqual(zlibOutcome(stream, data.length + 1));
    expect(ourOutcome(stream, data.length + 1).kind).toBe('failed');
  });

  it('gives an entry larger than the shared buffer bytes of its own, which the next call leaves as they are', () => {
    const large = textOf(1024 * 1024, 3);
    const first = inflateWhole(zlib.deflateRawSync(large), large.length + 1);
    const small = textOf(1000, 4);
    const second = inflateWhole(zlib.deflateRawSync(small), small.length + 1);
    expect(first.kind === 'inflated' && Buffer.from(first.bytes).equals(large)).toBe(true);
    expect(second.kind === 'inflated' && Buffer.from(second.bytes).equals(small)).toBe(true);
  });

  it('leaves a zlib stream it cannot drive to inflateRawSync, and closes it', () => {
    for (const unexpected of ['no write state', 'no error callback']) {
      const engine = zlib.createInflateRaw();
      if (unexpected === 'no write state') Object.defineProperty(engine, '_writeState', { value: undefined });
      else delete (engine as unknown as { _handle: { onerror?: unknown } })._handle.onerror;
      expect(KeptInflater.create(engine)).toBeUndefined();
      expect(engine.destroyed).toBe(true);
    }
    const driven = zlib.createInflateRaw();
    const inflater = KeptInflater.create(driven);
    expect(inflater).toBeInstanceOf(KeptInflater);
    const data = textOf(5000, 9);
    expect(inflater!.inflate(zlib.deflateRawSync(data), data.length + 1)).toMatchObject({ kind: 'inflated', consumed: zlib.deflateRawSync(data).length });
    inflater!.close();
    expect(driven.destroyed).toBe(true);
  });
});
