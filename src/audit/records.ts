import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type { KeyRole } from '../keys';
import type { ObjectStore } from '../oss/store';
import { uploaderSchema } from '../result/document';
import { recordKey } from './layout';
import { readMarker } from './marker';
import type { Uploader } from './provenance';

/**
 * `superseded`: a result not written (or written and then followed by the newer one) because a newer
 * upload replaced the objects meanwhile; `invalid`: a malformed record's failure, not written over
 * the result already there. `deleted`/`kept`: a version retention deleted (or would, in a dry run),
 * or kept because a function uses it. `region`: another region settled for an upload.
 * `rollout`, `promote`, `rollback`: one function (and its alias) changed, with before and after (docs/rollout.md).
 */
export type AuditKind = 'result' | 'stale' | 'superseded' | 'invalid' | 'deleted' | 'kept' | 'region' | 'uploader' | 'rollout' | 'promote' | 'rollback';

/** Records are small; a bigger object under the prefix was not written by the publisher. */
const MAX_RECORD_BYTES = 1024 * 1024;

/** What a decision's record is read back for: the uploaders it names. */
const recordedUploadersSchema = z.looseObject({
  provenance: z.optional(z.looseObject({ zip: z.optional(uploaderSchema), manifest: z.optional(uploaderSchema) })),
});

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
  return recordKey(auditPrefix, finishedAt, randomUUID());
}

export function auditRecordBody(kind: AuditKind, record: Record<string, unknown>): string {
  return JSON.stringify({ kind, ...record }, null, 2);
}

/** A decision of an upload as its audit record holds it: the settled result, with the upload's id. */
export interface DecisionRecord {
  uploadId: string;
  status: string;
  finishedAt: string;
  provenance?: { zip?: Uploader | undefined; manifest?: Uploader | undefined } | undefined;
}

/**
 * The one audit record of one decision of an upload (published, unchanged, failed): its key is the
 * upload's id and the decision's own time, so every delivery that repeats the decision writes it
 * create-if-absent and only the first lands. An uploader the record lacks (the other object's event
 * came later) is appended beside it as an `uploader` record, once per object, never by rewriting.
 */
export async function writeDecisionRecord(store: ObjectStore, auditPrefix: string, record: DecisionRecord & Record<string, unknown>): Promise<string> {
  const name = `${record.uploadId}-${record.status}`;
  const key = recordKey(auditPrefix, record.finishedAt, name);
  const created = await store.put(key, JSON.stringify({ kind: 'result', ...record }, null, 2), { contentType: 'application/json', forbidOverwrite: true });
  if (created === 'created') return key;
  // One that cannot be read counts as naming no uploader: appending them is harmless, readers fold them once.
  const written = (await readMarker(store, key, recordedUploadersSchema, MAX_RECORD_BYTES))?.value;
  for (const role of ['zip', 'manifest'] as const) {
    const uploader = record.provenance?.[role];
    if (uploader === undefined || written?.provenance?.[role] !== undefined) continue;
    const appended: UploaderRecord = {
      kind: 'uploader',
      status: 'uploader',
      uploadId: record.uploadId,
      role,
      uploader,
      decision: key,
      finishedAt: record.finishedAt,
    };
    await store.put(recordKey(auditPrefix, record.finishedAt, `${name}.${role}`), JSON.stringify(appended, null, 2), {
      contentType: 'application/json',
      forbidOverwrite: true,
    });
  }
  return key;
}

/** An uploader learnt after its decision's record was written: readers fold it into that record. */
export interface UploaderRecord {
  kind: 'uploader';
  status: 'uploader';
  uploadId: string;
  role: KeyRole;
  uploader: Uploader;
  /** The key of the decision's record. */
  decision: string;
  finishedAt: string;
}
