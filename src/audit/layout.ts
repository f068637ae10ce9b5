import { createHash } from 'node:crypto';
import type { KeyRole } from '../keys';

/**
 * Every key the publisher writes under AUDIT_PREFIX for the ledger and the trail, in one place
 * (docs/exactly-once.md): readers and writers build keys here, so a folder never has two spellings.
 *
 *   uploads/<id>/                 one upload's markers (src/audit/ledger.ts), index.json (src/latest/update.ts),
 *                                 rollout/<region>/<function>/ (src/rollout/markers.ts)
 *   uploads/<id>/regions/<r>/     the same markers for another region
 *   creates/<hash of bucket, key>/<n>.json
 *                                 every CreateLayerVersion of one zip key, in order
 *   records/<day>/<time>-<name>.json
 *                                 the append-only audit trail (src/audit/records.ts)
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
 * The names of one function's rollout markers, inside `markerName.rollout(region, function)`
 * (src/rollout/markers.ts): attempt n's intent, the alias as the canary found it, the outcome.
 */
export const rolloutMarkerName = {
  intent: (attempt: number) => `intent-${attempt}.json`,
  canary: () => 'canary.json',
  done: () => 'done.json',
} as const;
