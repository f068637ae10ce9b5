import type { UploadLedger } from '../audit/ledger';
import { CodeChecksumMismatchError, PreconditionFailedError } from '../errors';
import { afterDecision, afterFailure } from '../follow-ups/after-decision';
import type { Manifest } from '../manifest/manifest';
import { followWithRollout } from '../rollout/follow-up';
import type { PublishResult } from './result';
import { retainVersions, type RetainSetting, type RetentionDeps } from './retention';
import { unfinished, type HeldClaim, type Outcome, type RecordDecision, type Spread, type UploadSeen } from './outcome';
import { releaseClaim } from './steps/claim';
import { eventInfo, now, resultOf, retrying, retryingIn, type Flow } from './steps/context';
import { decideFailure, failureOf, reportInvalid, stale } from './steps/fail';
import { unfinishedFailure } from './steps/regions';
import { refreshResult, writeResult, type Written } from './steps/result';
import { settle } from './steps/settle';

/** What the flow had reached when an exception ended it: what the `failed` outcome lets go and names. */
export interface Reached {
  held?: HeldClaim | undefined;
  ledger?: UploadLedger | undefined;
  manifest?: Manifest | undefined;
  /** The other regions, once published to. */
  spread?: Spread | undefined;
}

/**
 * The one place a record's end is decided (docs/exactly-once.md): which result is written, repeated
 * or none; what becomes of the claim (always through releaseClaim, which alone may keep it); the
 * audit record (the result's, or `stale`'s); the follow-ups of a decision; and whether the handler
 * must reject so Function Compute delivers the event again (docs/contract.md §7).
 */
export async function decide(flow: Flow, outcome: Outcome): Promise<RecordDecision> {
  switch (outcome.kind) {
    case 'waiting':
      return settled(flow, await writeResult(flow, resultOf(flow, { status: 'waiting', waiting: outcome.waiting }), undefined));
    case 'stale':
      if (outcome.claim) await releaseClaim(flow, outcome.claim);
      return { entry: await stale(flow) };
    case 'invalid':
      return { entry: await reportInvalid(flow, outcome.failure) };
    case 'failed':
      return failed(flow, outcome);
    case 'redeliver':
      return redeliver(flow, outcome);
    case 'published':
    case 'unchanged':
      return decision(flow, outcome);
  }
}

/** An exception that ended the flow, as an outcome: a zip replaced while read is stale; all else a failure. */
export function outcomeOfError(flow: Flow, error: unknown, reached: Reached): Outcome {
  const { held, ledger, manifest, spread } = reached;
  const createInDoubtIn = spread?.createInDoubt;
  // The zip was replaced while we read it: a newer upload, whose own event publishes it.
  if (error instanceof PreconditionFailedError) return { kind: 'stale', claim: held && { held, reason: 'replaced while read', createInDoubtIn } };
  const failure = failureOf(error);
  return {
    kind: 'failed',
    failure,
    claim: held && { held, reason: flow.deps.logger.redact(failure.message), createInDoubtIn },
    upload: ledger && { ledger, manifest },
    spread,
  };
}

/**
 * A failure's result. A failure made no version (a mismatched one is deleted), so the next delivery
 * may try afresh: an operator who fixes a role or a quota can replay the event without uploading
 * again. Whether a create with no answer keeps the claim is releaseClaim's to decide.
 */
async function failed(flow: Flow, outcome: Extract<Outcome, { kind: 'failed' }>): Promise<RecordDecision> {
  const { failure, claim, upload, spread } = outcome;
  flow.log[failure.retryable ? 'warn' : 'error']('record.failed', { error: failure, context: failure.context });
  const result = await decideFailure(flow, resultOf(flow, { status: 'failed', error: failure, regions: spread?.regions }), claim?.held, upload?.ledger);
  if (claim) await releaseClaim(flow, claim, failure);
  // A mismatched version is deleted before the failure is handed on, wherever it was made.
  const deletedVersion = failure instanceof CodeChecksumMismatchError || spread?.deletedVersion === true;
  const written = await writeResult(flow, result, upload?.ledger, deletedVersion);
  if ('redeliver' in written) return settled(flow, written);
  if (failure.retryable) return { entry: written.entry, redeliver: failure.message };
  // The home region failed for good, but another region only for now: deliver again for it.
  if (spread !== undefined && spread.unfinished.length > 0) return { entry: written.entry, redeliver: unfinishedFailure(spread) };
  await afterFailure(flow, written.entry, upload?.manifest);
  return { entry: written.entry };
}

/** Not finished: the claim let go (or kept), the result of how far it got written if there is one. */
async function redeliver(flow: Flow, outcome: Extract<Outcome, { kind: 'redeliver' }>): Promise<RecordDecision> {
  const { reason, claim, result } = outcome;
  if (claim) await releaseClaim(flow, claim);
  if (result === undefined) return settled(flow, { redeliver: reason });
  try {
    const written = await writeResult(flow, result.document, result.ledger, result.spread?.deletedVersion);
    return 'redeliver' in written ? settled(flow, written) : { entry: written.entry, redeliver: reason };
  } catch (error) {
    return decide(flow, outcomeOfError(flow, error, { ledger: result.ledger, spread: result.spread }));
  }
}

/**
 * A version decided: settled in the ledger now (the claim goes with it), or repeated from it for a
 * later delivery; then its result, and the follow-ups. A delivery after a crash between the result
 * and its follow-ups does them now; done ones are repeated from the ledger.
 */
async function decision(flow: Flow, outcome: Extract<Outcome, { kind: 'published' | 'unchanged' }>): Promise<RecordDecision> {
  const { upload, spread } = outcome;
  let result: PublishResult;
  if (outcome.settle === undefined) {
    flow.log.info('upload.already-settled', { status: outcome.result.status, version: outcome.result.version });
    result = { ...outcome.result, event: eventInfo(flow) };
  } else {
    const { held, generation } = outcome.settle;
    try {
      result = await settle(flow, held, outcome.result, generation);
    } catch (error) {
      return decide(flow, outcomeOfError(flow, error, { held, ...upload, spread }));
    }
  }
  try {
    const written = await writeResult(flow, result, upload.ledger, spread?.deletedVersion);
    if ('redeliver' in written) return settled(flow, written);
    if (outcome.settle !== undefined) await followUps(flow, result, upload.manifest.retain ?? flow.deps.retainVersions, upload.ledger);
    await afterDecision(flow, result, upload.manifest, upload.ledger.uploadId);
    await followWithRollout(flow, result, upload.manifest, upload.ledger.uploadId);
    return { entry: written.entry };
  } catch (error) {
    return decide(flow, outcomeOfError(flow, error, { ...(upload satisfies UploadSeen), spread }));
  }
}

/** A result written is the record's entry; none written means the event must come again. */
function settled(flow: Flow, written: Written): RecordDecision {
  if ('entry' in written) return { entry: written.entry };
  flow.log.error('record.unfinished', { reason: written.redeliver });
  return unfinished(flow.input.eventKey, flow.deps.logger.redact(written.redeliver));
}

/**
 * The follow-ups of a decision settled and written: they never delay or fail the publish, each
 * records in the ledger that it ran (a redelivery shows it and does not repeat it), and the result
 * is written again from the ledger with their fields.
 */
async function followUps(flow: Flow, decided: PublishResult, retain: RetainSetting | undefined, ledger: UploadLedger): Promise<void> {
  const retention = await retainVersions(decided, retain, retentionDeps(flow));
  if (retention === undefined) return;
  try {
    await retrying(flow, 'ledger.retention', () => ledger.recordRetention(retention), true);
    await refreshResult(flow, ledger, decided);
  } catch (error) {
    flow.log.warn('retention.result.write.failed', { error });
  }
}

function retentionDeps(flow: Flow): RetentionDeps {
  const { layers, store, auditPrefix, deadline, retry } = flow.deps;
  return {
    layers,
    store,
    auditPrefix,
    deadline,
    reserveMs: retry.reserveMs,
    retrying: retryingIn(flow),
    log: flow.log,
    now: () => now(flow),
    resultKey: flow.input.keys.result,
    regionLayers: regionLayersOf(flow),
    functions: flow.deps.rollout?.functions,
  };
}

/** Each other region's layer API by name, for retention there. */
function regionLayersOf(flow: Flow): RetentionDeps['regionLayers'] {
  const regions = flow.deps.regions;
  if (regions === undefined) return undefined;
  return (region) => {
    const target = regions.configured.find((candidate) => candidate.region === region);
    if (target === undefined) throw new Error(`${region} is not a region of REGIONS`);
    return regions.connect(target).layers;
  };
}
