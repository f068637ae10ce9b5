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
  const key = auditRecordKey(auditPrefix, record.finishedAt);
  await store.put(key, auditRecordBody(kind, record), {
    contentType: 'application/json',
    forbidOverwrite: true,
  });
  return key;
}

/** A new record's key: the day and time it finished, then a random id (the CLI writes records there too). */
export function auditRecordKey(auditPrefix: string, finishedAt: string): string {
  return `${auditPrefix}records/${finishedAt.slice(0, 10)}/${finishedAt.replace(/[:.]/g, '-')}-${randomUUID()}.json`;
}

export function auditRecordBody(kind: AuditKind, record: Record<string, unknown>): string {
  return JSON.stringify({ kind, ...record }, null, 2);
}
