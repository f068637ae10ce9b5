import { createHash } from 'node:crypto';
import { crc64 } from 'crc64-ecma182.js';

/** Checksums computed without the emulator's code, to check what it reports. */
export function independentCrc64(bytes: Uint8Array): string {
  // crc64-ecma182.js aborts on single buffers over about 11 MiB (docs/reference/crc64.md §5): feed it pieces.
  const piece = 1024 * 1024;
  let crc = '0';
  for (let at = 0; at < bytes.byteLength || at === 0; at += piece) {
    const end = Math.min(at + piece, bytes.byteLength);
    crc = crc64(Buffer.from(bytes.buffer, bytes.byteOffset + at, end - at), crc);
    if (end === bytes.byteLength) break;
  }
  return crc;
}

export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex').toUpperCase();
}

/** Deterministic bytes that differ from piece to piece, so a misplaced chunk changes every checksum. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}
