import type { Manifest } from '../../manifest/manifest';
import { findExistingVersion } from '../existing-version';
import type { PublishResult } from '../result';
import { resultOf, retrying, type Flow } from './context';

/** Step 5, and adoption (CONTRACT §7): a result when a version already holds this upload. */
export async function findExisting(
  flow: Flow,
  manifest: Manifest,
  crc64: string,
  adoptAbove: number | undefined,
): Promise<PublishResult | { newestVersion: number }> {
  const layers = flow.deps.layers();
  const list = (from: number) => retrying(flow, 'versions', () => layers.versionsFrom(manifest.layerName, from));
  const existing = await findExistingVersion(list, manifest, crc64, adoptAbove);
  if (existing.kind === 'none') return { newestVersion: existing.newestVersion };
  flow.log.info(existing.kind === 'adopt' ? 'layer.adopted' : 'layer.unchanged', {
    layerName: manifest.layerName,
    version: existing.version.version,
  });
  return resultOf(flow, { status: existing.kind === 'adopt' ? 'published' : 'unchanged', version: existing.version });
}
