import type { IndexOutcome } from '../latest/outcome';
import { updateIndex } from '../latest/update';
import type { Manifest } from '../manifest/manifest';
import { decisionNotice } from '../notify/notice';
import { sendNotices } from '../notify/notices';
import type { NoticesOutcome } from '../notify/outcome';
import type { PublishResult, SummaryEntry } from '../publish/result';
import { now, retrying, retryingIn, type Flow } from '../publish/steps/context';
import { readResult as readResultDocument, writeResultDocument } from '../result/document';
import { decisionOf, type Decision } from './decision';

/**
 * The follow-ups of a settled decision whose result is written: the latest-version index, then the
 * notice. Each records in the ledger that it ran, so a redelivery repeats its outcome instead of
 * acting again; neither can fail or hold up the publish past its bound. Their outcomes are added to
 * the result (`index`, `notices`) while it is still this decision's.
 */
export async function afterDecision(flow: Flow, written: PublishResult, manifest: Manifest, uploadId: string | undefined): Promise<void> {
  await follow(flow, written, manifest, uploadId).catch((error: unknown) => flow.log.error('follow-ups.unexpected', { error }));
}

/** A permanent failure, once its result is written: the notice says so, in the error's words. */
export async function afterFailure(flow: Flow, entry: SummaryEntry, manifest: Manifest | undefined): Promise<void> {
  if (entry.status !== 'failed' || flow.deps.followUps === undefined) return;
  const followStored = async () => {
    const stored = await readResult(flow);
    // Only this invocation's own failure: a newer upload's result is that upload's to report.
    if (stored?.status !== 'failed' || stored.requestId !== flow.deps.requestId) return;
    await follow(flow, stored, manifest, undefined);
  };
  await followStored().catch((error: unknown) => flow.log.error('follow-ups.unexpected', { error }));
}

async function follow(flow: Flow, written: PublishResult, manifest: Manifest | undefined, uploadId: string | undefined): Promise<void> {
  const settings = flow.deps.followUps;
  if (settings === undefined) return;
  const decision = decisionOf(written, { resultKey: flow.input.keys.result, uploadId, manifest, homeRegion: settings.homeRegion });
  if (decision === undefined) return;
  const index = await updateIndex(decision, {
    store: flow.deps.store,
    retrying: retryingIn(flow),
    now: () => now(flow),
    auditPrefix: flow.deps.auditPrefix,
    indexPrefix: settings.indexPrefix,
    log: flow.log,
    hasTime: () => flow.deps.deadline.remainingMs() > 2 * flow.deps.retry.reserveMs,
  });
  const notices = await sendNotices(decisionNotice(decision), manifest?.notify, {
    ledger: { store: flow.deps.store, auditPrefix: flow.deps.auditPrefix },
    notify: settings.notify,
    log: flow.log,
    now: () => now(flow),
    // The result's rewrite keeps its reserve.
    budgetMs: () => flow.deps.deadline.remainingMs() - flow.deps.retry.reserveMs,
  });
  await annotate(flow, written, decision, { index, notices });
}

/** Adds the follow-ups' fields to the result, while the result there is still this decision's. */
async function annotate(
  flow: Flow,
  written: PublishResult,
  decision: Decision,
  fields: { index: IndexOutcome | undefined; notices: NoticesOutcome | undefined },
): Promise<void> {
  const added = { ...(fields.index ? { index: fields.index } : {}), ...(fields.notices ? { notices: fields.notices } : {}) };
  if (Object.keys(added).length === 0) return;
  const stored = await readResult(flow);
  if (stored === undefined || stored.requestId !== written.requestId || stored.finishedAt !== written.finishedAt) {
    flow.log.info('follow-ups.result.skipped', { layerName: decision.layerName, reason: 'the result in the bucket is no longer this decision\u2019s' });
    return;
  }
  const rewritten = flow.deps.logger.redact({ ...stored, ...added });
  await retrying(flow, 'result.write', () => writeResultDocument(flow.deps.store, decision.resultKey, rewritten), true).catch((error: unknown) =>
    flow.log.warn('follow-ups.result.write.failed', { error }),
  );
}

async function readResult(flow: Flow): Promise<PublishResult | undefined> {
  const read = await retrying(flow, 'result.read', () => readResultDocument(flow.deps.store, flow.input.keys.result), true).catch(() => undefined);
  return read === 'unreadable' ? undefined : read;
}
