import { once } from 'node:events';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STREAM_OUTPUT_BYTES, type StreamingInflater, createStreamingInflater, keepOutput } from '../../src/zip/inflate-stream';
import { type InflateOutcome, anyHurtStream, textOf, zlibOutcome } from './helpers';

/**
 * The stream written in pieces of the given sizes, waiting whenever the inflater asks, its output hashed
 * as it is taken (the bytes are overwritten after); recycled as src/zip/entry-data.ts recycles it, only
 * when it ended having taken every byte.
 */
async function streamedOutcome(
  stream: Uint8Array,
  pieces: readonly number[],
  make = (take: (bytes: Uint8Array) => void) => createStreamingInflater({}, take),
): Promise<InflateOutcome> {
  let crc = 0;
  let length = 0;
  const inflater: StreamingInflater = make((bytes) => {
    crc = zlib.crc32(bytes, crc);
    length += bytes.length;
  });
  const ended = once(inflater.stream, 'end');
  try {
    let at = 0;
    for (let index = 0; at < stream.length; index++) {
      const piece = stream.subarray(at, at + Math.max(1, pieces[index % pieces.length]!));
      at += piece.length;
      if (!inflater.stream.write(piece)) await Promise.race([once(inflater.stream, 'drain'), ended]);
    }
    inflater.stream.end();
    await ended;
  } catch (error) {
    return { kind: 'failed', code: (error as { code: string }).code };
  }
  const consumed = inflater.stream.bytesWritten;
  if (consumed === stream.length) inflater.recycle();
  return { kind: 'inflated', crc, length, consumed };
}

describe('createStreamingInflater', () => {
  it('hands on what zlib inflates and fails as zlib fails, several streams at once sharing their output buffers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyHurtStream, { minLength: 1, maxLength: 6 }), async (streams) => {
        const outcomes = await Promise.all(streams.map(({ stream, pieces }) => streamedOutcome(stream, pieces)));
        expect(outcomes).toEqual(streams.map(({ stream }) => zlibOutcome(stream)));
      }),
      { numRuns: 60 },
    );
  });

  it("keeps a cleanly ended stream's output buffer for the next one, once however often it is recycled", async () => {
    const data = textOf(300_000, 1);
    const first = createStreamingInflater({}, () => undefined);
    const kept = (first.stream as unknown as { _outBuffer: Buffer })._outBuffer;
    first.stream.end(zlib.deflateRawSync(data));
    await once(first.stream, 'end');
    first.recycle();
    first.recycle();
    const second = createStreamingInflater({}, () => undefined);
    const third = createStreamingInflater({}, () => undefined);
    const outputOf = (inflater: StreamingInflater) => (inflater.stream as unknown as { _outBuffer: Buffer })._outBuffer;
    expect(outputOf(second)).toBe(kept);
    expect(outputOf(third)).not.toBe(kept);
    for (const inflater of [second, third]) inflater.stream.destroy();
  });

  it("leaves the output to the stream's own data events when the stream is not built as expected", async () => {
    const data = textOf(3 * STREAM_OUTPUT_BYTES, 2);
    const stream = zlib.deflateRawSync(data);
    // Another output size stands for a Node.js whose stream keeps its output otherwise.
    let made: StreamingInflater | undefined;
    const otherwise = (take: (bytes: Uint8Array) => void) => {
      made = keepOutput(zlib.createInflateRaw({ chunkSize: 64 * 1024 }), take);
      return made;
    };
    expect(await streamedOutcome(stream, [100_000], otherwise)).toEqual(zlibOutcome(stream));
    expect(made?.stream.listenerCount('data')).toBe(1);
    expect(zlibOutcome(stream)).toMatchObject({ kind: 'inflated', length: data.length });
  });
});
