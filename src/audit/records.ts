import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../oss/store';

/**
 * `superseded`: a result not written (or written and then followed by the newer one) because a newer
 * upload replaced the objects meanwhile; `invalid`: a malformed record's failure, not written over
 * the result already there. `deleted`/`kept`: a version retention deleted (or would, in a dry run),
 * or kept because a function uses it. `region`: another region settled for an upload (issue 13).
 * `rollout`, `promote`, `rollback`: one function (and its alias) changed, with before and after (docs/rollout.md).
 */
export type AuditKind = 'result' | 'stale' | 'superseded' | 'invalid' | 'deleted' | 'kept' | 'region' | 'rollout' | 'promote' | 'rollback';

/**
 * An audit record per handled event, under `<AUDIT_PREFIX>records/<date>/`: append-only, so each
 * key is new (time, then a random id) and written with forbid-overwrite.
 */
export async function writeAuditRecord(
  store: ObjectStore,
  auditPrefix: string,
  kind: AuditKind,
  record: { finishedAt: string } & Record<string, unknown>,
): Promise<string> {
  const at = record.finishedAt;
  const key = `${auditPrefix}records/${at.slice(0, 10)}/${at.replace(/[:.]/g, '-')}-${randomUUID()}.json`;
  await store.put(key, JSON.stringify({ kind, ...record }, null, 2), {
    contentType: 'application/json',
    forbidOverwrite: true,
  });
  return key;
}
