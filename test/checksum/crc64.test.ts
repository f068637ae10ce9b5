import { describe, expect, it } from 'vitest';
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
