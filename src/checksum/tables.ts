/**
 * Slicing tables for CRC-64/XZ, shared by the TypeScript engine (8 tables) and the WebAssembly core
 * (16 tables, copied into its memory), so both engines are built from one definition.
 *
 * Each 64-bit entry is split into a low and a high int32 half: the TypeScript engine keeps its register
 * in two halves to stay clear of BigInt, and Int32Array keeps every value in V8's small-integer range.
 */

// Reflected ECMA-182 polynomial 0xC96C5795D7870F42, split into halves.
const POLY_LO = 0xd7870f42 | 0;
const POLY_HI = 0xc96c5795 | 0;

export interface SliceTables {
  /** lo[k * 256 + n], hi[k * 256 + n]: the register after feeding byte n then k zero bytes into a zero register. */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
}

export function buildSliceTables(count: number): SliceTables {
  const lo = new Int32Array(count * 256);
  const hi = new Int32Array(count * 256);
  for (let n = 0; n < 256; n++) {
    let l = n;
    let h = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = l & 1;
      l = (l >>> 1) | (h << 31);
      h >>>= 1;
      if (carry) {
        l ^= POLY_LO;
        h ^= POLY_HI;
      }
    }
    lo[n] = l;
    hi[n] = h;
  }
  // One more zero byte after table k-1's entry: a bytewise step with input byte 0.
  for (let i = 256; i < count * 256; i++) {
    const l = lo[i - 256]!;
    const h = hi[i - 256]!;
    lo[i] = lo[l & 0xff]! ^ ((l >>> 8) | (h << 24));
    hi[i] = hi[l & 0xff]! ^ (h >>> 8);
  }
  return { lo, hi };
}
