/**
 * Deflate's stored blocks (RFC 1951 §3.2.4): what deflate writes where compressing does not help, so all
 * that already compressed or random-looking data (images, archives, binaries) deflates to. A stored
 * block's bytes are the unpacked bytes, so they need no inflater: its five header bytes are read here and
 * its data handed on as it is, with no copy and no trip to zlib's thread pool. At the first block that is
 * not stored, the caller hands the rest of the stream to zlib, with `dictionary()` (the last 32 KiB
 * unpacked) as the history that block may refer back into.
 */
const HEADER_BYTES = 5;
/** Deflate's window: the farthest back a compressed block may refer. */
const WINDOW_BYTES = 32 * 1024;
const STORED = 0;

export type StoredStep =
  /** Every byte of the chunk taken; the stream goes on. */
  | { readonly kind: 'more' }
  /** A block that is not stored begins at `chunk[at]`, on a byte boundary, as every block after a stored one does. */
  | { readonly kind: 'compressed'; readonly at: number }
  /** The final block ended before `chunk[at]`; what follows is not part of the stream. */
  | { readonly kind: 'ended'; readonly at: number }
  /** zlib's own words for the same fault, so that the verdict reads alike whichever of the two met it. */
  | { readonly kind: 'broken'; readonly why: string };

/** The step of nearly every chunk: one object for all of them. */
const MORE: StoredStep = { kind: 'more' };

export class StoredBlocks {
  /** How many bytes of the stream the blocks read so far took, headers included. */
  consumed = 0;
  /** Made at the first stored block: most small entries start with a compressed one and need none. */
  private header: Uint8Array | undefined;
  private held = 0;
  /** Data bytes of the current block still to come. */
  private left = 0;
  private final = false;
  /**
   * The last unpacked bytes, by reference: a source's chunks are not written again once handed on
   * (OnChunk in read-archive.ts), so keeping them costs no copy until a compressed block needs them.
   */
  private readonly recent: Uint8Array[] = [];
  private recentFrom = 0;
  private recentBytes = 0;

  /** Reads `chunk` on from the stream's current position; `emit` gets each block's data, in order. */
  push(chunk: Uint8Array, emit: (bytes: Uint8Array) => void): StoredStep {
    let at = 0;
    while (at < chunk.length) {
      if (this.left > 0) {
        const take = Math.min(chunk.length - at, this.left);
        const data = chunk.subarray(at, at + take);
        emit(data);
        this.remember(data);
        at += take;
        this.consumed += take;
        this.left -= take;
        if (this.left === 0 && this.final) return { kind: 'ended', at };
        continue;
      }
      if (this.held === 0 && ((chunk[at]! >> 1) & 3) !== STORED) return { kind: 'compressed', at };
      const take = Math.min(chunk.length - at, HEADER_BYTES - this.held);
      const header = (this.header ??= new Uint8Array(HEADER_BYTES));
      header.set(chunk.subarray(at, at + take), this.held);
      this.held += take;
      at += take;
      this.consumed += take;
      if (this.held < HEADER_BYTES) continue;
      this.held = 0;
      const length = header[1]! | (header[2]! << 8);
      const inverse = header[3]! | (header[4]! << 8);
      if (length !== (~inverse & 0xffff)) return { kind: 'broken', why: 'invalid stored block lengths' };
      this.final = (header[0]! & 1) === 1;
      this.left = length;
      if (length === 0 && this.final) return { kind: 'ended', at };
    }
    return MORE;
  }

  /** The last 32 KiB unpacked (all of it, when less): what a compressed block after them may copy from. */
  dictionary(): Uint8Array | undefined {
    if (this.recentBytes === 0) return undefined;
    const joined = Buffer.concat(this.recent.slice(this.recentFrom), this.recentBytes);
    return joined.subarray(Math.max(0, joined.length - WINDOW_BYTES));
  }

  private remember(data: Uint8Array): void {
    this.recent.push(data);
    this.recentBytes += data.length;
    while (this.recentBytes - this.recent[this.recentFrom]!.length >= WINDOW_BYTES) {
      this.recentBytes -= this.recent[this.recentFrom]!.length;
      this.recentFrom += 1;
    }
    // Dropped references are let go in batches, so that a run of tiny chunks costs no quadratic shifting.
    if (this.recentFrom > 64 && this.recentFrom * 2 > this.recent.length) {
      this.recent.splice(0, this.recentFrom);
      this.recentFrom = 0;
    }
  }
}
