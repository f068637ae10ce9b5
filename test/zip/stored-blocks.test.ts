import { randomBytes } from 'node:crypto';
import { constants, crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type StoredStep, StoredBlocks } from '../../src/zip/stored-blocks';
import { storedBlocks, writeZip } from '../fixtures/zips/writer';
import { read } from './helpers';

const WINDOW = 32 * 1024;

type Segment = { kind: 'stored' | 'compressed'; bytes: Uint8Array };

/**
 * One deflate stream over the segments in order: stored blocks, or zlib's compressed blocks whose history
 * is everything before them (so they refer back into it), flushed to a byte boundary unless last.
 */
function deflateStream(segments: readonly Segment[]): { stream: Buffer; data: Buffer } {
  const parts: Uint8Array[] = [];
  let data = Buffer.alloc(0);
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment.kind === 'stored') {
      parts.push(storedBlocks(segment.bytes, last));
    } else {
      const history = data.subarray(Math.max(0, data.length - WINDOW));
      parts.push(
        deflateRawSync(segment.bytes, {
          ...(history.length > 0 ? { dictionary: history } : {}),
          ...(last ? {} : { finishFlush: constants.Z_SYNC_FLUSH }),
        }),
      );
    }
    data = Buffer.concat([data, segment.bytes]);
  });
  return { stream: Buffer.concat(parts), data };
}

function collect(blocks: StoredBlocks, stream: Uint8Array, chunkSizes: readonly number[]): { steps: StoredStep[]; out: Buffer; offset: number } {
  const steps: StoredStep[] = [];
  const out: Uint8Array[] = [];
  let at = 0;
  let index = 0;
  while (at < stream.length) {
    const chunk = stream.subarray(at, at + Math.max(1, chunkSizes[index++ % chunkSizes.length] ?? 1));
    const step = blocks.push(chunk, (bytes) => out.push(Buffer.from(bytes)));
    steps.push(step);
    if (step.kind !== 'more') return { steps, out: Buffer.concat(out), offset: at + (step.kind === 'broken' ? 0 : step.at) };
    at += chunk.length;
  }
  return { steps, out: Buffer.concat(out), offset: at };
}

describe('StoredBlocks', () => {
  it("hands on each stored block's data as it is, however the stream is cut", () => {
    const data = randomBytes(200_000);
    const stream = storedBlocks(data, true, 40_000);
    for (const chunkSizes of [[1], [3, 7], [4999], [65_536]]) {
      const blocks = new StoredBlocks();
      const { steps, out, offset } = collect(blocks, stream, chunkSizes);
      expect(steps.at(-1)?.kind).toBe('ended');
      expect(out.equals(data)).toBe(true);
      expect(offset).toBe(stream.length);
      expect(blocks.consumed).toBe(stream.length);
    }
  });

  it('stops at the final block: bytes after it are not the stream', () => {
    const stream = Buffer.concat([storedBlocks(Buffer.from('layer'), true), Buffer.from('hidden')]);
    const blocks = new StoredBlocks();
    const { steps, out } = collect(blocks, stream, [stream.length]);
    expect(steps).toEqual([{ kind: 'ended', at: 10 }]);
    expect(out.toString()).toBe('layer');
    expect(blocks.consumed).toBe(10);
  });

  it('reads empty blocks, as a sync flush writes them, and an empty final one', () => {
    const stream = Buffer.concat([storedBlocks(new Uint8Array(0), false), storedBlocks(Buffer.from('ab'), false), storedBlocks(new Uint8Array(0), true)]);
    const blocks = new StoredBlocks();
    const { steps, out } = collect(blocks, stream, [1]);
    expect(steps.at(-1)).toEqual({ kind: 'ended', at: 1 });
    expect(out.toString()).toBe('ab');
    expect(blocks.consumed).toBe(stream.length);
  });

  it('says where the first block that is not stored begins, and keeps the last 32 KiB as its history', () => {
    const before = randomBytes(100_000);
    const stream = Buffer.concat([storedBlocks(before, false), deflateRawSync(Buffer.from('after'))]);
    const blocks = new StoredBlocks();
    const { steps, offset } = collect(blocks, stream, [1000, 17]);
    expect(steps.at(-1)?.kind).toBe('compressed');
    expect(offset).toBe(storedBlocks(before, false).length);
    expect(blocks.consumed).toBe(offset);
    expect(Buffer.from(blocks.dictionary()!).equals(before.subarray(before.length - WINDOW))).toBe(true);
  });

  it('hands a stream that starts compressed to zlib at once, with no history', () => {
    const blocks = new StoredBlocks();
    expect(blocks.push(deflateRawSync(Buffer.from('text text text')), () => undefined)).toEqual({ kind: 'compressed', at: 0 });
    expect(blocks.consumed).toBe(0);
    expect(blocks.dictionary()).toBeUndefined();
  });

  it('refuses lengths that do not check, in zlib’s own words', () => {
    const stream = storedBlocks(Buffer.from('layer'), true);
    stream.writeUInt8(stream.readUInt8(3) ^ 0x01, 3);
    expect(() => inflateRawSync(stream)).toThrow('invalid stored block lengths');
    expect(new StoredBlocks().push(stream, () => undefined)).toEqual({ kind: 'broken', why: 'invalid stored block lengths' });
  });
});

const NAME = 'nodejs/node_modules/blob/data.bin';

type Verdict = { ok: true } | { ok: false; category: string };

const CATEGORIES: [string, RegExp][] = [
  ['cut short', /deflate stream cut short|is cut short/],
  ['broken', /broken deflate data/],
  ['ends early', /ends its deflate stream after/],
  ['size', /unpacks to/],
  ['crc', /fails its CRC-32 check/],
];

/** What zlib alone says of the entry's data: the verdict every path of ours must reach. */
function zlibVerdict(stream: Uint8Array, declared: number, crc: number): Verdict {
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    result = inflateRawSync(stream, { info: true }) as unknown as typeof result;
  } catch (error) {
    return { ok: false, category: (error as { code?: string }).code === 'Z_BUF_ERROR' ? 'cut short' : 'broken' };
  }
  if (result.buffer.length > declared) return { ok: false, category: 'size' };
  if (result.engine.bytesWritten !== stream.length) return { ok: false, category: 'ends early' };
  if (result.buffer.length !== declared) return { ok: false, category: 'size' };
  return crc32(result.buffer) === crc ? { ok: true } : { ok: false, category: 'crc' };
}

async function ourVerdict(stream: Uint8Array, declared: number, crc: number, chunkSizes: number[]): Promise<Verdict> {
  const zip = writeZip([{ name: NAME, data: Buffer.alloc(declared), stored: stream, crc }]);
  try {
    await read(zip, chunkSizes, { concurrency: 1 });
    return { ok: true };
  } catch (error) {
    const { message, context } = error as { message: string; context?: { entry?: string } };
    expect(context?.entry).toBe(NAME);
    const category = CATEGORIES.find(([, pattern]) => pattern.test(message))?.[0];
    return { ok: false, category: category ?? message };
  }
}

const segment = fc.record({
  kind: fc.constantFrom('stored' as const, 'compressed' as const),
  size: fc.integer({ min: 0, max: 70_000 }),
  text: fc.boolean(),
});

const damage = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), mask: fc.integer({ min: 1, max: 255 }) }),
  // The first block's header: its type, and a stored block's lengths.
  fc.record({ kind: fc.constant('flip' as const), byte: fc.integer({ min: 0, max: 4 }), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
  fc.record({ kind: fc.constant('size' as const), by: fc.constantFrom(-1, 1) }),
);

function bytesOf(size: number, text: boolean): Uint8Array {
  return text ? Buffer.from('const value = require("module");\n'.repeat(Math.ceil(size / 33)).slice(0, size)) : randomBytes(size);
}

describe('deflated entries of stored and compressed blocks, against zlib', () => {
  it('reach the verdict zlib reaches on the same bytes, whatever the mix, the damage or the chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 1, maxLength: 5 }),
        damage,
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 }),
        async (segments, hurt, chunkSizes) => {
          const { stream: whole, data } = deflateStream(segments.map(({ kind, size, text }) => ({ kind, bytes: bytesOf(size, text) })));
          let stream = whole;
          let declared = data.length;
          if (hurt.kind === 'cut') stream = whole.subarray(0, Math.floor(hurt.at * whole.length));
          if (hurt.kind === 'flip') {
            stream = Buffer.from(whole);
            const at = 'byte' in hurt ? hurt.byte : Math.floor(hurt.at * stream.length);
            stream[Math.min(stream.length - 1, at)]! ^= hurt.mask;
          }
          if (hurt.kind === 'append') stream = Buffer.concat([whole, hurt.bytes]);
          if (hurt.kind === 'size') declared = Math.max(0, declared + hurt.by);
          const crc = crc32(data);
          const ours = await ourVerdict(stream, declared, crc, chunkSizes);
          const zlibs = zlibVerdict(stream, declared, crc);
          if (hurt.kind !== 'flip') {
            expect(ours).toEqual(zlibs);
            return;
          }
          // A flipped byte may both lengthen the output and break the stream: which fault is named first
          // depends on where the output stopped, which one zlib call does not say. Accepted or not must agree.
          expect(ours.ok).toBe(zlibs.ok);
          if (!ours.ok) expect(CATEGORIES.map(([category]) => category)).toContain(ours.category);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives a compressed block after stored ones the history it refers back into, streamed or in one call', async () => {
    const stored = randomBytes(300_000);
    // Repeats the stored bytes' last 20 KiB: zlib writes it as copies from that history.
    const repeat = Buffer.concat([stored.subarray(stored.length - 20_000), Buffer.from('tail')]);
    for (const tail of [repeat, Buffer.concat([repeat, randomBytes(400_000)])]) {
      const { stream, data } = deflateStream([
        { kind: 'stored', bytes: stored },
        { kind: 'compressed', bytes: tail },
      ]);
      const compressedPart = stream.subarray(storedBlocks(stored, false).length);
      expect(() => inflateRawSync(compressedPart)).toThrow('invalid distance too far back');
      expect(await ourVerdict(stream, data.length, crc32(data), [65_536])).toEqual({ ok: true });
    }
  });
});
