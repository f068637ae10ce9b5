import type { CreateLog, UploadLedger } from '../../audit/ledger';
import type { CodeChecksumMismatchError } from '../../errors';
import type { LayerApi, LayerVersion } from '../../fc/layers';
import type { Manifest } from '../../manifest/manifest';
import { findExistingVersion } from '../existing-version';
import { retrying, type Flow } from './context';
import type { CreateInDoubtError } from './errors';

/** Where one upload is published: the home region, or another region from its staged copy. */
export interface LayerTarget {
  /** Undefined for the home region, whose markers are the upload's own. */
  region: string | undefined;
  layers: () => LayerApi;
  /** The object FC builds the version from. */
  code: { bucket: string; key: string };
  ledger: UploadLedger;
  /** Every create of `code`, whatever the upload: one without an answer may still land. */
  creates: CreateLog;
}

/** A version that holds this upload in the target's region. */
export interface Decided {
  status: 'published' | 'unchanged';
  version: LayerVersion;
}

/**
 * No version holds this upload in the target's region, for a reason FC gave: a create with no answer
 * whose version did not appear in the time left (the claim is kept for it), or a version with another
 * codeChecksum, deleted already. The record fails with `error` (src/publish/decide.ts).
 */
export interface CreateFailed {
  status: 'failed';
  error: CreateInDoubtError | CodeChecksumMismatchError;
}

/** Step 5, and adoption (docs/contract.md §7): a version that already holds this upload, or the newest one. */
export async function findExisting(
  flow: Flow,
  target: Pick<LayerTarget, 'layers' | 'region'>,
  manifest: Manifest,
  crc64: string,
  adoptAbove: number | undefined,
): Promise<Decided | { newestVersion: number }> {
  const layers = target.layers();
  const list = (from: number) => retrying(flow, 'versions', () => layers.versionsFrom(manifest.layerName, from));
  const existing = await findExistingVersion(list, manifest, crc64, adoptAbove);
  if (existing.kind === 'none') return { newestVersion: existing.newestVersion };
  flow.log.info(existing.kind === 'adopt' ? 'layer.adopted' : 'layer.unchanged', {
    layerName: manifest.layerName,
    version: existing.version.version,
    region: target.region,
  });
  return { status: existing.kind === 'adopt' ? 'published' : 'unchanged', version: existing.version };
}
