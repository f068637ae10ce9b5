import { createHash } from 'node:crypto';
import type { KeyRole } from '../keys';

/**
 * Every key the publisher writes under AUDIT_PREFIX and INDEX_PREFIX, in one place
 * (docs/exactly-once.md): readers and writers build keys here, so a folder never has two spellings.
 * Under AUDIT_PREFIX:
 *
 *   uploads/<id>/                 one upload's markers (src/audit/ledger.ts), index.json (src/latest/update.ts),
 *                                 rollout/<region>/<function>/ (src/rollout/markers.ts)
 *   uploads/<id>/regions/<r>/     the same markers for another region
 *   creates/<hash of bucket, key>/<n>.json
 *                                 every CreateLayerVersion of one zip key, in order
 *   records/<day>/<time>-<name>.json
 *                                 the append-only audit trail (src/audit/records.ts)
 *   staged/<id>/<zip name>.staged the zip copied into another region's bucket (src/regions/copy.ts)
 *   contents/<layer>/v<n>.cdx.json
 *                                 each version's CycloneDX document (src/audit/cyclonedx.ts)
 *   index/layers/<layer>/<n>.json, index/all/<n>.json
 *                                 the logs of the latest-version index (src/latest/monotone.ts)
 *   notices/<id>/<target>.json, notices/<id>/<target>.outcome.json
 *                                 each notice, before and after it is sent (src/notify/notices.ts)
 *
 * Under INDEX_PREFIX (read by consumers, docs/index-and-notices.md): `layers/<layer>.json` and `layers.json`.
 */

/** The folder of one upload's markers; `region` names another region's folder inside it. */
export function uploadFolder(auditPrefix: string, uploadId: string, region?: string): string {
  return `${auditPrefix}uploads/${uploadId}/${region === undefined ? '' : `regions/${region}/`}`;
}

/** The names of an upload's markers, inside `uploadFolder`. */
export const markerName = {
  claim: (attempt: number) => `claim-${attempt}.json`,
  intent: (attempt: number) => `intent-${attempt}.json`,
  released: (attempt: number) => `released-${attempt}.json`,
  /** Generation 1 is `outcome.json`, as before generations existed. */
  outcome: (generation: number) => (generation === 1 ? 'outcome.json' : `outcome-${generation}.json`),
  provenance: (role: KeyRole) => `provenance-${role}.json`,
  /** One failure, named by a hash of what failed (the error, and the attempt for one that may pass later). */
  failed: (what: string) => `failed-${createHash('sha256').update(what).digest('hex').slice(0, 16)}.json`,
  followUp: (name: string) => `followups/${name}.json`,
  index: () => 'index.json',
  rollout: (region: string, functionName: string) => `rollout/${region}/${functionName}/`,
} as const;

/** A name listed directly in an upload's folder, read back as the marker `markerName` spelled; undefined for any other. */
export type ListedMarker = { kind: 'claim' | 'intent' | 'released'; attempt: number } | { kind: 'outcome'; generation: number };

const numberedMarker = /^(claim|intent|released|outcome)-([1-9][0-9]{0,8})\.json$/;

/** The inverse of `markerName` for the markers that decide an upload's state (src/audit/ledger.ts `stateFrom`). */
export function markerOf(name: string): ListedMarker | undefined {
  if (name === markerName.outcome(1)) return { kind: 'outcome', generation: 1 };
  const match = numberedMarker.exec(name);
  const kind = match?.[1];
  const n = Number(match?.[2]);
  switch (kind) {
    case 'claim':
    case 'intent':
    case 'released':
      return { kind, attempt: n };
    case 'outcome':
      // `outcome-1.json` was never written: generation 1 is `outcome.json`.
      return n >= 2 ? { kind, generation: n } : undefined;
    default:
      return undefined;
  }
}

/** The folder of one zip key's create log. */
export function createLogFolder(auditPrefix: string, bucket: string, zipKey: string): string {
  const id = createHash('sha256')
    .update(JSON.stringify([bucket, zipKey]))
    .digest('hex')
    .slice(0, 40);
  return `${auditPrefix}creates/${id}/`;
}

/** Where the audit trail's records live. */
export function recordsFolder(auditPrefix: string): string {
  return `${auditPrefix}records/`;
}

/** A record's key: the day and time it finished, then its name. */
export function recordKey(auditPrefix: string, at: string, name: string): string {
  return `${recordsFolder(auditPrefix)}${at.slice(0, 10)}/${at.replace(/[:.]/g, '-')}-${name}.json`;
}

/**
 * `<AUDIT_PREFIX>staged/<upload id>/<zip name>.staged`: under the audit prefix and ending in neither
 * `.zip` nor `.layer.json`, so a publisher watching the target bucket is not triggered by it.
 */
export function stagedKey(auditPrefix: string, uploadId: string, zipKey: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(uploadId)) throw new RangeError(`upload id must be [A-Za-z0-9_-]+, got ${JSON.stringify(uploadId)}`);
  const name = zipKey.slice(zipKey.lastIndexOf('/') + 1);
  return `${auditPrefix}staged/${uploadId}/${name}.staged`;
}

/** The folder of every layer's CycloneDX documents, or of one layer's. */
export function contentsFolder(auditPrefix: string, layerName?: string): string {
  return `${auditPrefix}contents/${layerName === undefined ? '' : `${layerName}/`}`;
}

/** `<AUDIT_PREFIX>contents/<layerName>/v<version>.cdx.json`: the home region's version number. */
export function contentsKey(auditPrefix: string, layerName: string, version: number): string {
  return `${contentsFolder(auditPrefix, layerName)}v${version}.cdx.json`;
}

const CONTENTS_KEY = /(?:^|\/)contents\/([^/]+)\/v(\d+)\.cdx\.json$/;

/** The layer and home version a contents key names, or undefined for any other key. */
export function contentsKeyParts(key: string): { layerName: string; version: number } | undefined {
  const match = CONTENTS_KEY.exec(key);
  if (match === null) return undefined;
  const version = Number(match[2]);
  return Number.isSafeInteger(version) && version > 0 ? { layerName: match[1]!, version } : undefined;
}

/** The log of one layer's index document, or (no layer) of the listing of every layer. */
export function indexLogFolder(auditPrefix: string, layerName?: string): string {
  return `${auditPrefix}index/${layerName === undefined ? 'all/' : `layers/${layerName}/`}`;
}

/** A notice's marker for one target (created before it is sent), and the answer recorded beside it. */
export function noticeKeys(auditPrefix: string, noticeId: string, target: string): { marker: string; outcome: string } {
  const base = `${auditPrefix}notices/${noticeId}/${target}`;
  return { marker: `${base}.json`, outcome: `${base}.outcome.json` };
}

/** `<INDEX_PREFIX>layers/<layerName>.json`: one layer's newest version in each region. */
export function layerIndexKey(indexPrefix: string, layerName: string): string {
  return `${indexPrefix}layers/${layerName}.json`;
}

/** `<INDEX_PREFIX>layers.json`: every layer's index document. */
export function listingKey(indexPrefix: string): string {
  return `${indexPrefix}layers.json`;
}

/**
 * The names of one function's rollout markers, inside `markerName.rollout(region, function)`
 * (src/rollout/markers.ts): attempt n's intent, the alias as the canary found it, the outcome.
 */
export const rolloutMarkerName = {
  intent: (attempt: number) => `intent-${attempt}.json`,
  canary: () => 'canary.json',
  done: () => 'done.json',
} as const;
