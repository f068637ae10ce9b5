import type { UploadLedger } from '../../audit/ledger';
import { writeAuditRecord, writeDecisionRecord, type AuditKind } from '../../audit/records';
import type { KeyRole } from '../../keys';
import { PublisherError } from '../../errors';
import { sameEtag, type ObjectHead } from '../../oss/store';
import type { PublishResult, SummaryEntry } from '../result';
import { summaryOf } from '../result';
import { readResult, writeResultDocument } from '../../result/document';
import { now, retrying, type Flow } from './context';
import { outcomeStands, recordUploaders } from './claim';

/** Objects that keep being replaced while results are re-established: give up and be delivered again. */
const MAX_RESTORE_DEPTH = 2;

/** What the zip and manifest are now, against the versions this flow worked on. */
type ObjectsNow = { state: 'current' } | { state: 'superseded'; zip: ObjectHead | undefined; manifest: ObjectHead | undefined } | { state: 'unknown' };

/** The result written (its summary entry), or why none could be and the event must come again. */
export type Written = { entry: SummaryEntry } | { redeliver: string };

/** How many times a result is written again because the ledger learnt more while it was written. */
const MAX_VIEW_REWRITES = 2;

/**
 * The result as the upload's ledger tells it: the decision, both objects' uploaders whichever event
 * told them, and what retention did. Every event of the upload composes the same document, and a
 * later one only adds to it (docs/exactly-once.md, "One upload, one record").
 */
export async function viewOf(flow: Flow, ledger: UploadLedger, decided: PublishResult): Promise<PublishResult> {
  const [uploaders, retention, followedUp] = await Promise.all([
    retrying(flow, 'ledger.uploaders', () => ledger.uploaders(), true),
    retrying(flow, 'ledger.retention', () => ledger.retention(), true),
    followUpFieldsOf(flow, decided),
  ]);
  const regions =
    decided.regions &&
    Object.fromEntries(
      Object.entries(decided.regions).map(([region, entry]) => {
        const done = retention?.regions[region];
        return [region, done === undefined || entry.home ? entry : { ...entry, retention: done }];
      }),
    );
  return flow.deps.logger.redact({
    ...followedUp,
    ...decided,
    ...(retention?.home === undefined ? {} : { retention: retention.home }),
    ...(regions === undefined ? {} : { regions }),
    ...(decided.provenance === undefined ? {} : { provenance: { ...decided.provenance, ...uploaders } }),
  });
}

/**
 * What the follow-ups added to the result of this very decision once it was written: the index and
 * the notices (src/follow-ups/after-decision.ts) and the rollout (src/rollout/follow-up.ts). A result
 * written again from the ledger keeps them, so a later event of the upload never drops a field.
 */
async function followUpFieldsOf(flow: Flow, decided: PublishResult): Promise<Partial<PublishResult>> {
  const stored = await retrying(flow, 'result.read', () => readResult(flow.deps.store, flow.input.keys.result), true).catch(() => undefined);
  if (stored === undefined || stored === 'unreadable' || !sameDecision(stored, decided)) return {};
  const fields: Partial<PublishResult> = {};
  for (const field of FOLLOW_UP_FIELDS) if (stored[field] !== undefined) Object.assign(fields, { [field]: stored[field] });
  return fields;
}

const FOLLOW_UP_FIELDS = ['index', 'notices', 'rollout'] as const;

function sameDecision(stored: PublishResult, decided: PublishResult): boolean {
  return (
    stored.status === decided.status &&
    stored.version === decided.version &&
    stored.source.etag !== undefined &&
    sameEtag(stored.source.etag, decided.source.etag ?? '') &&
    (stored.manifest?.etag ?? '') === (decided.manifest?.etag ?? '')
  );
}

/**
 * Step 8: the result beside the zip, then the audit record. A newer upload may replace the zip or
 * manifest at any moment: its own event writes its result, and this one must not have the last
 * word over it (docs/contract.md §6, §7). So the objects are looked at before every try of the PUT, and
 * after it: a PUT that landed after the newer result is followed by that result again. No result
 * is written where that could lose a newer upload's: then the event must be delivered again.
 * `deletedVersion`: this flow deleted a version that held another upload's bytes, which that
 * upload may have named; a superseded result then has the newer upload's written again.
 */
export async function writeResult(flow: Flow, described: PublishResult, ledger: UploadLedger | undefined, deletedVersion = false): Promise<Written> {
  const { input, deps } = flow;
  const uploadId = ledger?.uploadId;
  if (ledger !== undefined) await recordUploaders(flow, ledger);
  let result = ledger === undefined ? described : await viewOf(flow, ledger, described);
  // `waiting` names no object version; the flow looks again after writing it instead.
  const checked = result.status !== 'waiting';
  let kind: AuditKind = 'result';
  const before = checked ? await objectsNow(flow) : ({ state: 'current' } as const);
  if (before.state === 'superseded') {
    kind = 'superseded';
    const unrestored = deletedVersion ? await restoreCurrent(flow, before) : undefined;
    if (unrestored !== undefined) return { redeliver: unrestored };
  } else if (before.state === 'unknown' && !(await resultIsOursOrAbsent(flow))) {
    // OSS would not say what the objects are now, and the result there names another upload.
    await audit(flow, 'superseded', result, uploadId);
    return { redeliver: `${input.keys.result}: not written: OSS did not answer for ${input.keys.zip}, and the result there names another upload` };
  } else {
    const put = (document: PublishResult) =>
      retrying(
        flow,
        'result.write',
        async (attempt) => {
          if (checked && attempt > 1) {
            const current = await objectsNow(flow);
            // The try that failed may still have landed, over the newer upload's result.
            if (current.state === 'superseded') return current;
          }
          await writeResultDocument(deps.store, input.keys.result, document);
          return 'written' as const;
        },
        true,
      );
    let written = await put(result);
    // Another event of the upload may have added to the ledger (its uploader, retention) and
    // written its result before this PUT landed over it: written again until nothing is new.
    for (let rewrites = 0; ledger !== undefined && written === 'written' && rewrites < MAX_VIEW_REWRITES; rewrites++) {
      const again = await viewOf(flow, ledger, described);
      if (JSON.stringify(again) === JSON.stringify(result)) break;
      result = again;
      written = await put(result);
    }
    // Superseded before a retry means a PUT was already sent: it, too, may have landed late.
    const after = written !== 'written' ? written : checked ? await objectsNow(flow) : undefined;
    let unrestored: string | undefined;
    if (after?.state === 'superseded') {
      kind = 'superseded';
      flow.log.warn('result.overtaken', { resultKey: input.keys.result });
      unrestored = await restoreCurrent(flow, after);
    } else if (written === 'written' && !(await outcomeStands(flow, result).catch(() => true))) {
      // Its version was deleted while the result was written: the upload is decided again.
      flow.log.warn('result.version-gone', { layerName: result.layerName, version: result.version });
      unrestored = await restoreCurrent(flow, undefined);
    }
    if (unrestored !== undefined) return { redeliver: unrestored };
  }
  const auditKey = await audit(flow, kind, result, uploadId);
  flow.log.info(kind === 'superseded' ? 'result.superseded' : 'result.written', {
    status: result.status,
    layerName: result.layerName,
    version: result.version,
    resultKey: input.keys.result,
    auditKey,
    errorCode: result.error?.code,
    ms: now(flow).getTime() - flow.startedAt.getTime(),
  });
  return { entry: summaryOf(input.eventKey, result) };
}

/** The audit record of a result: a decision of an upload has one, however many events repeat it. */
/**
 * The result written again from the ledger once a follow-up recorded what it did, while the zip
 * and manifest are still this upload's (a newer upload's result is never written over).
 */
export async function refreshResult(flow: Flow, ledger: UploadLedger, decided: PublishResult): Promise<void> {
  if ((await objectsNow(flow)).state !== 'current') return;
  const result = await viewOf(flow, ledger, decided);
  await retrying(flow, 'result.write', () => writeResultDocument(flow.deps.store, flow.input.keys.result, result), true);
}

export function audit(flow: Flow, kind: AuditKind, result: PublishResult, uploadId: string | undefined): Promise<string> {
  const { store, auditPrefix } = flow.deps;
  const decision = kind === 'result' && uploadId !== undefined && result.status !== 'waiting';
  return retrying(
    flow,
    'audit.write',
    () =>
      decision
        ? writeDecisionRecord(store, auditPrefix, { ...result, uploadId })
        : writeAuditRecord(store, auditPrefix, kind, { ...result, ...(uploadId ? { uploadId } : {}) }),
    true,
  );
}

/** Whether the zip or the manifest now is another version than the one this flow worked on. */
async function objectsNow(flow: Flow): Promise<ObjectsNow> {
  const { zip, manifest } = flow.input.keys;
  const { store } = flow.deps;
  try {
    const [zipNow, manifestNow] = await Promise.all([
      retrying(flow, 'recheck', () => store.head(zip), true),
      retrying(flow, 'recheck', () => store.head(manifest), true),
    ]);
    const changed = (current: ObjectHead | undefined, seen: string | undefined) => current !== undefined && seen !== undefined && !sameEtag(current.etag, seen);
    if (changed(zipNow, flow.facts.source.etag) || changed(manifestNow, flow.facts.manifestInfo?.etag)) {
      return { state: 'superseded', zip: zipNow, manifest: manifestNow };
    }
    return { state: 'current' };
  } catch (error) {
    if (!(error instanceof PublisherError) || !error.retryable) throw error;
    flow.log.warn('recheck.failed', { error });
    return { state: 'unknown' };
  }
}

/** With the objects unknown, a result may still be written where none is, or over this upload's own. */
async function resultIsOursOrAbsent(flow: Flow): Promise<boolean> {
  const there = await retrying(flow, 'result.read', () => readResult(flow.deps.store, flow.input.keys.result), true).catch(() => 'unreadable' as const);
  if (there === undefined) return true;
  if (there === 'unreadable') return false;
  const same = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && sameEtag(a, b);
  return same(there.source.etag, flow.facts.source.etag) && same(there.manifest?.etag, flow.facts.manifestInfo?.etag);
}

/**
 * This flow's result landed after a newer upload replaced the objects, maybe over that upload's
 * result: the newer upload's flow runs here too, and writes its own result again (its outcome, if
 * decided, is repeated; nothing is published twice). Returns why the event must come again, if
 * that flow could not finish either.
 */
async function restoreCurrent(flow: Flow, current: Extract<ObjectsNow, { state: 'superseded' }> | undefined): Promise<string | undefined> {
  const depth = (flow.deps.restoreDepth ?? 0) + 1;
  if (depth > MAX_RESTORE_DEPTH) return `${flow.input.keys.result}: the zip and manifest keep being replaced while results are written`;
  const { keys, role: ownRole, eventETag } = flow.input;
  const role: KeyRole = current === undefined ? ownRole : current.zip ? 'zip' : 'manifest';
  const currentETag = current === undefined ? eventETag : (current.zip ?? current.manifest)!.etag;
  const restored = await flow.rerun(
    {
      role,
      keys,
      eventKey: role === 'zip' ? keys.zip : keys.manifest,
      eventName: flow.input.eventName,
      eventTime: undefined,
      eventETag: currentETag,
      eventRequestId: undefined,
    },
    { ...flow.deps, restoreDepth: depth },
  );
  return restored.redeliver;
}
