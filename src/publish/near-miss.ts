import { MANIFEST_SUFFIX, ZIP_SUFFIX } from '../keys';
import { editDistance } from '../manifest/runtimes';

/** A key beside the missing one that was probably meant, and the fix in words. */
export interface NearMiss {
  key: string;
  fix: string;
}

/** `x-1.2`, `x_v2`, `x.3`: a stem with a version after it names the same layer. */
const VERSION_SUFFIX = /^[-_.]v?\d[\w.]*$/i;
/** `.json` for `.layer.json`: the most common slip in naming a manifest. */
const BARE_JSON = '.json';

/**
 * The key among `listed` (one folder's keys) that was probably meant for `missing`, the zip or the
 * manifest of the pair: the same stem in another case or with a bare `.json`; a stem within two
 * edits; or the stem with a version after it (or without the one the missing key has). A key that
 * is already one half of a complete pair of its own is some other layer, never a near miss.
 */
export function nearMissOf(missing: string, listed: readonly string[]): NearMiss | undefined {
  const suffix = missing.endsWith(ZIP_SUFFIX) ? ZIP_SUFFIX : MANIFEST_SUFFIX;
  const slash = missing.lastIndexOf('/') + 1;
  const folder = missing.slice(0, slash);
  const stem = missing.slice(slash, missing.length - suffix.length);
  const present = new Set(listed);
  const otherHalf = (base: string) => (suffix === ZIP_SUFFIX ? `${base}${MANIFEST_SUFFIX}` : `${base}${ZIP_SUFFIX}`);
  let best: { key: string; rank: number } | undefined;
  for (const key of listed) {
    if (key === missing || !key.startsWith(folder) || key.slice(slash).includes('/')) continue;
    const name = key.slice(slash);
    const rank = rankOf(name, stem, suffix);
    if (rank === undefined) continue;
    // `y.zip` beside `y.layer.json` is layer y, whatever its name looks like.
    if (key.endsWith(suffix) && present.has(otherHalf(key.slice(0, key.length - suffix.length)))) continue;
    if (best === undefined || rank < best.rank || (rank === best.rank && key < best.key)) best = { key, rank };
  }
  return best && { key: best.key, fix: `rename ${best.key} to ${missing}` };
}

/** How close `name` is to `<stem><suffix>` (lower is closer), or undefined when it is not a near miss. */
function rankOf(name: string, stem: string, suffix: string): number | undefined {
  const lower = name.toLowerCase();
  const wanted = `${stem}${suffix}`.toLowerCase();
  if (lower === wanted) return 0;
  if (suffix === MANIFEST_SUFFIX && lower === `${stem.toLowerCase()}${BARE_JSON}`) return 1;
  if (!lower.endsWith(suffix)) return undefined;
  const other = lower.slice(0, lower.length - suffix.length);
  const own = stem.toLowerCase();
  if (other === '') return undefined;
  if (other.startsWith(own) && VERSION_SUFFIX.test(other.slice(own.length))) return 2;
  if (own.startsWith(other) && VERSION_SUFFIX.test(own.slice(other.length))) return 2;
  const distance = editDistance(other, own);
  return distance <= 2 ? 2 + distance : undefined;
}
