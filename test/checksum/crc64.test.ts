import { describe, expect, it } from 'vitest';
import { crc64Combine } from '../../src/checksum/combine';
import { Crc64 } from '../../src/checksum/crc64';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('Crc64', () => {
  it.each([
    ['empty', new Uint8Array(0), '0'],
    ['check', ascii('123456789'), '11051210869376104954'],
    ['a', ascii('a'), '3675645893302102789'],
    ['fox', ascii('The quick brown fox jumps over the lazy dog'), '6583902852472283588'],
    ['0..255 x1000', Uint8Array.from({ length: 1000 }, (_, i) => i % 256), '17036788464839511630'],
    ['1 MiB zeros', new Uint8Array(1 << 20), '6947770692288575170'],
    ['1 MiB 0xFF', new Uint8Array(1 << 20).fill(0xff), '3946797202531432512'],
  ])('%s', (_, input, expected) => {
    expect(new Crc64().update(input).digest()).toBe(expected);
  });
});

describe('crc64Combine', () => {
  it('joins CRC(12345) and CRC(6789)', () => {
    expect(crc64Combine('6748440630437108969', '10278880121275185425', 4)).toBe('11051210869376104954');
  });

  it.each([2 ** 32 + 1, 2n ** 32n + 1n])('handles lengthB past 32 bits (%s)', (lengthB) => {
    expect(crc64Combine('11051210869376104954', '13595488808149494328', lengthB)).toBe('6526656882836515889');
  });

  it('returns crcA for an empty B', () => {
    expect(crc64Combine('11051210869376104954', '0', 0)).toBe('11051210869376104954');
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
