import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { crc64 as peerCrc64 } from 'crc64-ecma182.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc64Combine } from '../../src/checksum/combine';
import { Crc64 } from '../../src/checksum/crc64';
import { Crc64Js } from '../../src/checksum/crc64-js';
import { Crc64Wasm, wasmCoreAvailable } from '../../src/checksum/crc64-wasm';
import { BUFFER_SIZE } from '../../src/checksum/crc64-wasm-bytes';

interface Hasher {
  update(chunk: Uint8Array): Hasher;
  digest(): string;
}
type Engine = new () => Hasher;

const ENGINES: [string, Engine][] = [
  ['Crc64', Crc64],
  ['Crc64Wasm', Crc64Wasm],
  ['Crc64Js', Crc64Js],
];

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Bit-at-a-time CRC-64/XZ straight from the parameters in docs/reference/crc64.md §1: slow, but with nothing to get wrong. */
function referenceCrc64(data: Uint8Array): string {
  const poly = 0xc96c5795d7870f42n;
  const ones = 0xffffffffffffffffn;
  let crc = ones;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return (crc ^ ones).toString(10);
}

/** Cuts data at the given points (sorted, repeats allowed, so some chunks are empty). */
function cut(data: Uint8Array, points: number[]): Uint8Array[] {
  const sorted = points.map((p) => p % (data.length + 1)).sort((a, b) => a - b);
  const bounds = [0, ...sorted, data.length];
  return bounds.slice(1).map((end, i) => data.subarray(bounds[i], end));
}

/** A copy of data that starts `offset` bytes into its ArrayBuffer, so word-aligned paths see odd offsets. */
function atOffset(data: Uint8Array, offset: number): Uint8Array {
  const backing = new Uint8Array(offset + data.length + 3);
  backing.set(data, offset);
  return backing.subarray(offset, offset + data.length);
}

function hash(Engine: Engine, chunks: Uint8Array[]): string {
  const crc = new Engine();
  for (const chunk of chunks) crc.update(chunk);
  return crc.digest();
}

/** crc64-ecma182.js takes only Buffers and a previous CRC as a decimal string. */
function peerHash(chunks: Uint8Array[]): string {
  return chunks.reduce((prev, chunk) => peerCrc64(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), prev), '0');
}

describe.each(ENGINES)('%s', (_, Engine) => {
  // docs/reference/crc64.md §2. The two ≥ 4 GiB streamed vectors are covered through crc64Combine below.
  it.each([
    ['empty', new Uint8Array(0), '0'],
    ['123456789', ascii('123456789'), '11051210869376104954'],
    ['a', ascii('a'), '3675645893302102789'],
    ['quick brown fox', ascii('The quick brown fox jumps over the lazy dog'), '6583902852472283588'],
    ['bytes 0..255 to 1000', Uint8Array.from({ length: 1000 }, (_, i) => i % 256), '17036788464839511630'],
    ['1 MiB of 0x00', new Uint8Array(1 << 20), '6947770692288575170'],
    ['1 MiB of 0xFF', new Uint8Array(1 << 20).fill(0xff), '3946797202531432512'],
  ])('matches the %s vector', (_, input, expected) => {
    expect(new Engine().update(input).digest()).toBe(expected);
  });

  it('gives the same result byte by byte, with empty chunks between', () => {
    const crc = new Engine();
    for (const byte of ascii('123456789')) crc.update(Uint8Array.of(byte)).update(new Uint8Array(0));
    expect(crc.digest()).toBe('11051210869376104954');
  });

  it('keeps its state across digest()', () => {
    const crc = new Engine().update(ascii('12345'));
    expect(crc.digest()).toBe('6748440630437108969');
    expect(crc.digest()).toBe('6748440630437108969');
    expect(crc.update(ascii('6789')).digest()).toBe('11051210869376104954');
  });

  it('accepts a Buffer at an odd offset of its ArrayBuffer', () => {
    const backing = Buffer.from('x123456789');
    expect(new Engine().update(backing.subarray(1)).digest()).toBe('11051210869376104954');
  });

  it('matches a bitwise reference on random data cut at random points, at any offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.array(fc.nat(), { maxLength: 12 }), fc.nat({ max: 7 }), (data, points, offset) => {
        expect(hash(Engine, cut(atOffset(data, offset), points))).toBe(referenceCrc64(data));
      }),
    );
  });
});

describe('engines against each other and crc64-ecma182.js', () => {
  // Large enough to span several of the wasm core's input pieces; chunks cross piece boundaries at odd offsets.
  const data = randomBytes(5 * BUFFER_SIZE + 12_345);

  it('agree on random cuts of data larger than the wasm buffer', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 8 }), fc.nat({ max: 7 }), (points, offset) => {
        const chunks = cut(atOffset(data, offset), points);
        const expected = peerHash(chunks);
        for (const [, Engine] of ENGINES) expect(hash(Engine, chunks)).toBe(expected);
      }),
      { numRuns: 30 },
    );
  });

  it('agree on one chunk larger than the wasm buffer', () => {
    const expected = peerHash([data]);
    for (const [, Engine] of ENGINES) expect(hash(Engine, [data])).toBe(expected);
  });
});

describe('Crc64 engine choice', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('has the wasm core available here', () => {
    expect(wasmCoreAvailable()).toBe(true);
  });

  it('falls back to the TypeScript engine without WebAssembly', async () => {
    vi.stubGlobal('WebAssembly', undefined);
    vi.resetModules();
    const fresh = await import('../../src/checksum/crc64');
    expect(new fresh.Crc64().update(ascii('123456789')).digest()).toBe('11051210869376104954');
  });
});

describe('crc64Combine', () => {
  it('joins CRC(12345) and CRC(6789)', () => {
    expect(crc64Combine('6748440630437108969', '10278880121275185425', 4)).toBe('11051210869376104954');
  });

  // CRC(123456789) and CRC(2^32 + 1 zero bytes): the streamed ≥ 4 GiB vectors of docs/reference/crc64.md §2.
  it.each([2 ** 32 + 1, 2n ** 32n + 1n])('handles lengthB past 32 bits (%s)', (lengthB) => {
    expect(crc64Combine('11051210869376104954', '13595488808149494328', lengthB)).toBe('6526656882836515889');
  });

  it('returns crcA for an empty B', () => {
    expect(crc64Combine('11051210869376104954', '0', 0)).toBe('11051210869376104954');
  });

  it('equals the CRC of the whole on random splits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.nat(), (data, point) => {
        const [a, b] = cut(data, [point]) as [Uint8Array, Uint8Array];
        const whole = new Crc64().update(data).digest();
        const joined = crc64Combine(new Crc64().update(a).digest(), new Crc64().update(b).digest(), b.length);
        expect(joined).toBe(whole);
      }),
    );
  });

  it.each([
    ['crcA', () => crc64Combine('-1', '0', 0)],
    ['crcA', () => crc64Combine('18446744073709551616', '0', 0)],
    ['crcB', () => crc64Combine('0', '0x10', 0)],
    ['lengthB', () => crc64Combine('0', '0', 1.5)],
    ['lengthB', () => crc64Combine('0', '0', -1)],
    ['lengthB', () => crc64Combine('0', '0', 2n ** 61n)],
  ])('rejects a bad %s', (name, call) => {
    expect(call).toThrow(new RegExp(name));
  });
});

describe('generated wasm module', () => {
  it('is what scripts/gen-crc64-wasm.mjs produces', async () => {
    const script = fileURLToPath(new URL('../../scripts/gen-crc64-wasm.mjs', import.meta.url));
    await expect(promisify(execFile)(process.execPath, [script, '--check'])).resolves.toBeDefined();
  });
});
