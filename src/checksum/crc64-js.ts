/**
 * Pure TypeScript CRC-64/XZ engine: slicing-by-8 over 32-bit word loads.
 *
 * The 64-bit register lives in two int32 halves so the hot loop never touches BigInt (which allocates
 * per operation); each of the eight tables is likewise split into a low-half and a high-half Int32Array.
 * Int32Array rather than Uint32Array keeps every value in V8's small-integer range. crc64.md §3 measures
 * this layout as the fastest pure JS variant (≈1,230 MB/s); slicing-by-16 did not beat it.
 */

// Reflected ECMA-182 polynomial 0xC96C5795D7870F42, split into halves.
const POLY_LO = 0xd7870f42 | 0;
const POLY_HI = 0xc96c5795 | 0;

/**
 * TABLE_LO/HI[k * 256 + n] is the CRC register after feeding byte n followed by k zero bytes into a
 * register of zero. Slicing-by-8 folds eight input bytes with one lookup per byte into tables 7..0.
 */
const TABLE_LO = new Int32Array(8 * 256);
const TABLE_HI = new Int32Array(8 * 256);

for (let n = 0; n < 256; n++) {
  let lo = n;
  let hi = 0;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = (lo >>> 1) | (hi << 31);
    hi >>>= 1;
    if (carry) {
      lo ^= POLY_LO;
      hi ^= POLY_HI;
    }
  }
  TABLE_LO[n] = lo;
  TABLE_HI[n] = hi;
}
for (let i = 256; i < 8 * 256; i++) {
  const lo = TABLE_LO[i - 256]!;
  const hi = TABLE_HI[i - 256]!;
  const low = lo & 0xff;
  TABLE_LO[i] = TABLE_LO[low]! ^ ((lo >>> 8) | (hi << 24));
  TABLE_HI[i] = TABLE_HI[low]! ^ (hi >>> 8);
}

/** Word loads read the bytes in platform order; the word path assumes little-endian (every Node target FC runs). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Below this many bytes, building a Uint32Array view costs more than the bytewise loop. */
const MIN_WORD_PATH = 32;

function halvesToDecimal(lo: number, hi: number): string {
  return ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(10);
}

export class Crc64Js {
  // Register halves, init all ones; xorout is applied only in digest() so update() can continue afterwards.
  private lo = -1;
  private hi = -1;

  update(chunk: Uint8Array): this {
    let lo = this.lo;
    let hi = this.hi;
    let i = 0;
    const end = chunk.length;

    if (LITTLE_ENDIAN && end >= MIN_WORD_PATH) {
      // Bytewise up to a 4-byte boundary of the underlying buffer, since Uint32Array views must be aligned.
      const head = (4 - (chunk.byteOffset & 3)) & 3;
      for (; i < head; i++) {
        const t = (lo ^ chunk[i]!) & 0xff;
        lo = TABLE_LO[t]! ^ ((lo >>> 8) | (hi << 24));
        hi = TABLE_HI[t]! ^ (hi >>> 8);
      }
      const wordCount = ((end - head) >>> 3) << 1;
      const words = new Int32Array(chunk.buffer, chunk.byteOffset + head, wordCount);
      for (let w = 0; w < wordCount; w += 2) {
        const a = lo ^ words[w]!;
        const b = hi ^ words[w + 1]!;
        lo =
          TABLE_LO[0x700 + (a & 0xff)]! ^
          TABLE_LO[0x600 + ((a >>> 8) & 0xff)]! ^
          TABLE_LO[0x500 + ((a >>> 16) & 0xff)]! ^
          TABLE_LO[0x400 + (a >>> 24)]! ^
          TABLE_LO[0x300 + (b & 0xff)]! ^
          TABLE_LO[0x200 + ((b >>> 8) & 0xff)]! ^
          TABLE_LO[0x100 + ((b >>> 16) & 0xff)]! ^
          TABLE_LO[b >>> 24]!;
        hi =
          TABLE_HI[0x700 + (a & 0xff)]! ^
          TABLE_HI[0x600 + ((a >>> 8) & 0xff)]! ^
          TABLE_HI[0x500 + ((a >>> 16) & 0xff)]! ^
          TABLE_HI[0x400 + (a >>> 24)]! ^
          TABLE_HI[0x300 + (b & 0xff)]! ^
          TABLE_HI[0x200 + ((b >>> 8) & 0xff)]! ^
          TABLE_HI[0x100 + ((b >>> 16) & 0xff)]! ^
          TABLE_HI[b >>> 24]!;
      }
      i = head + wordCount * 4;
    }

    for (; i < end; i++) {
      const t = (lo ^ chunk[i]!) & 0xff;
      lo = TABLE_LO[t]! ^ ((lo >>> 8) | (hi << 24));
      hi = TABLE_HI[t]! ^ (hi >>> 8);
    }

    this.lo = lo;
    this.hi = hi;
    return this;
  }

  /** Unsigned decimal string, as OSS and FC write it ("0" for no input). Does not reset the state. */
  digest(): string {
    return halvesToDecimal(~this.lo, ~this.hi);
  }
}
