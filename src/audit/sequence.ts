import type { ObjectStore } from '../oss/store';

/**
 * The highest n for which `keyOf(n)` exists (0 for none), in a sequence written 1, 2, 3… with
 * create-if-absent, so it has no gaps: doubling, then halving, so a long history costs few HEADs.
 */
export async function highestInSequence(store: ObjectStore, keyOf: (n: number) => string, max: number): Promise<number> {
  const exists = async (n: number) => (await store.head(keyOf(n))) !== undefined;
  let low = 0;
  let high = 1;
  while (high <= max && (await exists(high))) {
    low = high;
    high *= 2;
  }
  // low exists (or is 0), high does not: the last one is in between.
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await exists(middle)) low = middle;
    else high = middle;
  }
  return low;
}
