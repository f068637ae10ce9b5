/**
 * CRC-64/XZ of a concatenation from the CRCs of its parts, without the bytes: checks a multipart object
 * from its parts' CRCs, or merges ranges hashed separately.
 *
 * Powers-of-x method of zlib ≥ 1.2.12 (`multmodp`/`x2nmodp` in madler/zlib:crc32.c): appending lenB bytes
 * to A multiplies A's register by x^(8·lenB) mod P, assembled from a table of x^(2^k) mod P, so a call
 * costs one carry-less multiply per set bit of the length. Init and xorout are both all ones, so they
 * cancel and `crc(A‖B) = crcA·x^(8·lenB) mod P ⊕ crcB`. BigInt is fine here: this is not a per-byte path.
 *
 * Values are in the reflected domain, where bit 63 is the coefficient of x^0.
 */

const POLY = 0xc96c5795d7870f42n;
const X0 = 1n << 63n;
const MAX_U64 = (1n << 64n) - 1n;

/** a·b mod P in the reflected domain. */
function multModP(a: bigint, b: bigint): bigint {
  let product = 0n;
  for (let m = X0; m !== 0n; m >>= 1n) {
    if (a & m) {
      product ^= b;
      // No lower coefficients of a left: skip the remaining reductions of b.
      if ((a & (m - 1n)) === 0n) break;
    }
    b = b & 1n ? (b >> 1n) ^ POLY : b >> 1n;
  }
  return product;
}

/**
 * X2N[k] = x^(2^k) mod P. Unlike CRC-32's polynomial (where zlib wraps k at 32), these powers do not cycle
 * back to x within 64 squarings, so the table bounds the length: 8·lenB bits needs k up to 63.
 */
let X2N: bigint[] | undefined;

/** Built on the first combine rather than at load: 4,096 BigInt steps a function that combines nothing never needs. */
function x2n(): bigint[] {
  if (X2N) return X2N;
  const table = [X0 >> 1n];
  for (let k = 1; k < 64; k++) table.push(multModP(table[k - 1]!, table[k - 1]!));
  return (X2N = table);
}

/** Largest lenB the table covers: 8·lenB < 2^64 bits. */
const MAX_LENGTH = (1n << 61n) - 1n;

/** x^(8·n) mod P: the shift that appending n bytes applies to a register. */
function xPow8nModP(n: bigint): bigint {
  const powers = x2n();
  let p = X0;
  for (let k = 3; n !== 0n; n >>= 1n, k++) {
    if (n & 1n) p = multModP(powers[k]!, p);
  }
  return p;
}

function parseCrc(name: string, value: string): bigint {
  if (!/^\d{1,20}$/.test(value) || BigInt(value) > MAX_U64) {
    throw new RangeError(`${name} must be an unsigned 64-bit decimal string, got ${JSON.stringify(value)}`);
  }
  return BigInt(value);
}

function parseLength(value: number | bigint): bigint {
  // A fractional or unsafe number would already have lost the byte count; refuse rather than round.
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`lengthB must be a safe integer, got ${value}`);
  }
  const n = BigInt(value);
  if (n < 0n || n > MAX_LENGTH) throw new RangeError(`lengthB must be in [0, 2^61), got ${n}`);
  return n;
}

/**
 * CRC-64/XZ of A followed by B, given crc(A), crc(B) and B's length in bytes (any length up to 2^61 − 1;
 * unlike `tos-crc64-js`, not truncated to 32 bits). CRCs are OSS's unsigned decimal strings.
 */
export function crc64Combine(crcA: string, crcB: string, lengthB: number | bigint): string {
  const a = parseCrc('crcA', crcA);
  const b = parseCrc('crcB', crcB);
  return (multModP(xPow8nModP(parseLength(lengthB)), a) ^ b).toString(10);
}
