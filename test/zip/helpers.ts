import { randomBytes } from 'node:crypto';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { type ArchiveRead, type ArchiveReadOptions, type ByteSource, readArchive } from '../../src/zip';

/** Builds a zip with fflate; every name becomes one entry, a name ending in '/' an empty directory. */
export function buildZip(names: readonly string[], options: { level?: 0 | 6 } = {}): Uint8Array {
  const files = Object.fromEntries(names.map((name, index) => [name, strToU8(name.endsWith('/') ? '' : `content of ${name} #${index} `.repeat(8))]));
  return zipSync(files, { level: options.level ?? 6 });
}

/**
 * An in-memory ByteSource that serves every read in chunks of the given sizes (cycled), as a socket
 * would cut them, and records the ranges asked for.
 */
export function memorySource(bytes: Uint8Array, chunkSizes: readonly number[] = [], concurrency = 4) {
  const ranges: { start: number; end: number }[] = [];
  const source: ByteSource = {
    size: bytes.length,
    concurrency: () => concurrency,
    read: async (range, onChunk) => {
      ranges.push(range);
      let at = range.start;
      let index = 0;
      while (at <= range.end) {
        const size = chunkSizes.length === 0 ? 65_536 : Math.max(1, chunkSizes[index++ % chunkSizes.length]!);
        const chunk = bytes.subarray(at, Math.min(range.end + 1, at + size));
        await onChunk(chunk, at);
        at += chunk.length;
      }
    },
  };
  return { source, ranges };
}

/** Reads an archive from memory through readArchive, cut into chunks of the given sizes. */
export function read(bytes: Uint8Array, chunkSizes: readonly number[] = [], options?: ArchiveReadOptions & { concurrency?: number }): Promise<ArchiveRead> {
  return readArchive(memorySource(bytes, chunkSizes, options?.concurrency).source, options);
}

const END_RECORD_BYTES = 22;

/** The plain end record's fields, for an archive without a comment (what fflate writes). */
export function endRecordOf(zip: Uint8Array): { entryCount: number; size: number; offset: number } {
  const view = new DataView(zip.buffer, zip.byteOffset + zip.length - END_RECORD_BYTES, END_RECORD_BYTES);
  if (view.getUint32(0, true) !== 0x06054b50) throw new Error('fixture has a comment or no end record');
  return { entryCount: view.getUint16(10, true), size: view.getUint32(12, true), offset: view.getUint32(16, true) };
}

/** Appends an archive comment, as `zip -z` would. */
export function withComment(zip: Uint8Array, comment: Uint8Array): Uint8Array {
  const result = new Uint8Array(zip.length + comment.length);
  result.set(zip);
  result.set(comment, zip.length);
  new DataView(result.buffer).setUint16(zip.length - 2, comment.length, true);
  return result;
}

/**
 * fflate cannot write ZIP64, so this rewrites an fflate archive's end: a ZIP64 end record and locator
 * carry the real values and the plain end record only saturated ones, as writers do past 65,535 entries.
 * `entryCount` is needed because fflate stores the count modulo 2^16.
 */
export function toZip64(zip: Uint8Array, entryCount: number): Uint8Array {
  const { size, offset } = endRecordOf(zip);
  const body = zip.subarray(0, zip.length - END_RECORD_BYTES);
  const result = new Uint8Array(body.length + 56 + 20 + END_RECORD_BYTES);
  result.set(body);
  const view = new DataView(result.buffer);
  const recordAt = body.length;
  view.setUint32(recordAt, 0x06064b50, true);
  view.setBigUint64(recordAt + 4, 44n, true); // size of the rest of the record
  view.setUint16(recordAt + 12, 45, true); // version made by
  view.setUint16(recordAt + 14, 45, true); // version needed: 4.5 introduced ZIP64
  view.setBigUint64(recordAt + 24, BigInt(entryCount), true);
  view.setBigUint64(recordAt + 32, BigInt(entryCount), true);
  view.setBigUint64(recordAt + 40, BigInt(size), true);
  view.setBigUint64(recordAt + 48, BigInt(offset), true);
  const locatorAt = recordAt + 56;
  view.setUint32(locatorAt, 0x07064b50, true);
  view.setBigUint64(locatorAt + 8, BigInt(recordAt), true);
  view.setUint32(locatorAt + 16, 1, true); // total number of disks
  const endAt = locatorAt + 20;
  view.setUint32(endAt, 0x06054b50, true);
  view.setUint16(endAt + 8, 0xffff, true);
  view.setUint16(endAt + 10, 0xffff, true);
  view.setUint32(endAt + 12, 0xffffffff, true);
  view.setUint32(endAt + 16, 0xffffffff, true);
  return result;
}

/** A copy of `bytes` with one little-endian field overwritten, to corrupt a fixture on purpose. */
export function patched(bytes: Uint8Array, at: number, value: number, width: 2 | 4): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  if (width === 2) view.setUint16(at, value, true);
  else view.setUint32(at, value, true);
  return copy;
}

/** Source-like text, as compressible as a node_modules file. */
export function textOf(size: number, seed: number): Buffer {
  return Buffer.from(`module.exports = require("pkg-${seed}");\n`.repeat(Math.ceil(size / 30) + 1)).subarray(0, size);
}

/** What is done to a deflate stream: nothing, cut at a fraction of it, a byte flipped, or bytes appended. */
export const streamHurt = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
);

export type StreamHurt = typeof streamHurt extends fc.Arbitrary<infer T> ? T : never;

export function hurtStream(stream: Buffer, hurt: StreamHurt): Buffer {
  if (hurt.kind === 'cut') return stream.subarray(0, Math.floor(hurt.at * stream.length));
  if (hurt.kind === 'flip' && stream.length > 0) {
    const flipped = Buffer.from(stream);
    flipped[Math.min(stream.length - 1, Math.floor(hurt.at * stream.length))]! ^= hurt.mask;
    return flipped;
  }
  if (hurt.kind === 'append') return Buffer.concat([stream, hurt.bytes]);
  return stream;
}

/**
 * A deflate stream of text, random bytes, or zeros (whose one write unpacks to more than a 2 MiB output
 * buffer holds), whole or hurt, and the sizes of the pieces to write it in.
 */
export const anyHurtStream = fc
  .record({
    size: fc.integer({ min: 0, max: 600_000 }),
    seed: fc.integer({ min: 0, max: 1000 }),
    kind: fc.constantFrom('text', 'text', 'random', 'zeros'),
    level: fc.constantFrom(0, 1, 6, 9),
    hurt: streamHurt,
    pieces: fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 4 }),
  })
  .map(({ size, seed, kind, level, hurt, pieces }) => {
    const data = kind === 'random' ? randomBytes(size) : kind === 'zeros' ? Buffer.alloc(size * 8) : textOf(size, seed);
    return { stream: hurtStream(deflateRawSync(data, { level }), hurt), pieces };
  });

export type InflateOutcome = { kind: 'inflated'; crc: number; length: number; consumed: number } | { kind: 'failed'; code: string };

/** What zlib's own one-call inflate makes of a raw deflate stream. */
export function zlibOutcome(stream: Uint8Array): InflateOutcome {
  try {
    const { buffer, engine } = inflateRawSync(stream, { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    return { kind: 'inflated', crc: crc32(buffer), length: buffer.length, consumed: engine.bytesWritten };
  } catch (error) {
    return { kind: 'failed', code: (error as { code: string }).code };
  }
}
