import type { LayerVersion } from '../fc/layers';
import type { Manifest } from '../manifest/manifest';

/**
 * What the layer's versions say about this upload (docs/contract.md §5 step 5, §7): a version above
 * `adoptAbove` holding this code, description and runtimes was made by an earlier attempt at this
 * upload; otherwise a latest version holding them makes the upload `unchanged`.
 */
export type ExistingVersion = { kind: 'adopt'; version: LayerVersion } | { kind: 'unchanged'; version: LayerVersion } | { kind: 'none'; newestVersion: number };

/**
 * `list(from)` gives the versions numbered `from` or more, newest first. Only the versions above
 * `adoptAbove` are listed when there is one, however many others came since; else all of them.
 */
export async function findExistingVersion(
  list: (from: number) => Promise<LayerVersion[]>,
  manifest: Manifest,
  crc64: string,
  adoptAbove: number | undefined,
): Promise<ExistingVersion> {
  const newer = adoptAbove === undefined ? [] : await list(adoptAbove + 1);
  const madeByThisUpload = newer.find((version) => holdsSameLayer(version, manifest, crc64));
  if (madeByThisUpload) return { kind: 'adopt', version: madeByThisUpload };
  const latest = newer[0] ?? (await list(1))[0];
  if (latest && holdsSameLayer(latest, manifest, crc64)) return { kind: 'unchanged', version: latest };
  return { kind: 'none', newestVersion: latest?.version ?? 0 };
}

/** Same code, same description (a missing one counts as empty), same set of runtimes. */
export function holdsSameLayer(version: LayerVersion, manifest: Manifest, crc64: string): boolean {
  return (
    version.codeChecksum === crc64 &&
    (version.description ?? '') === (manifest.description ?? '') &&
    sameSet(version.compatibleRuntime, manifest.compatibleRuntime)
  );
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
}
