import type { InvalidInputError } from '../errors';
import type { PublishResult, SummaryEntry } from './result';
import { applyAcl, type AclDeps } from './acl';
import { recordContents } from './contents';
import { retainVersions, type RetainSetting, type RetentionDeps } from './retention';
import { now, retrying, retryingIn, startFlow, type Flow, type PublishDeps, type RecordInput } from './steps/context';
import { awaitPair } from './steps/pair';
import { acceptManifest } from './steps/manifest';
import type { UploadLedger } from '../audit/ledger';
import { claimUpload, ledgerOf, type HeldClaim } from './steps/claim';
import { publish } from './steps/create';
import { settle } from './steps/settle';
import { publishEverywhere, regionsOf, unfinishedRegions } from './steps/regions';
import { refreshResult, repeatOutcome, writeResult } from './steps/result';
import { fail, reportInvalid, stale } from './steps/fail';
import type { Manifest } from '../manifest/manifest';
import { afterDecision, afterFailure } from '../follow-ups/after-decision';
import { followWithRollout } from '../rollout/follow-up';

export type { PublishDeps, RecordInput } from './steps/context';
export { BusyError, CreateInDoubtError, ResultUnwritableError, RetryableRecordError } from './steps/errors';

/**
 * What one event record does (docs/contract.md §5), as plain steps over the storage and layer interfaces,
 * each in its own module under `steps/`. Returns the summary entry; throws only when no result
 * could be written (the handler then rejects).
 */
export async function publishRecord(input: RecordInput, deps: PublishDeps): Promise<SummaryEntry> {
  const flow = startFlow(input, deps, publishRecord);
  let held: HeldClaim | undefined;
  let manifest: Manifest | undefined;
  let upload: UploadLedger | undefined;
  try {
    const pair = await awaitPair(flow);
    if (pair === 'stale') return stale(flow);
    if (pair.kind === 'waiting') return pair.entry;
    const { ledger } = ledgerOf(flow, pair.zip, pair.manifestHead);
    upload = ledger;
    manifest = acceptManifest(flow, pair.manifestBody, pair.zip);
    const targets = regionsOf(flow, manifest);
    const claimed = await claimUpload(flow, ledger, pair.zip, manifest, targets);
    if (claimed.kind === 'settled') {
      const repeated = await repeatOutcome(flow, claimed.outcome, ledger);
      // A delivery after a crash between the result and its follow-ups does them now; done ones are repeated from the ledger.
      await afterDecision(flow, claimed.outcome, manifest, ledger.uploadId);
      await followWithRollout(flow, claimed.outcome, manifest, ledger.uploadId);
      return repeated;
    }
    held = claimed.held;
    const published = targets === undefined ? await publish(flow, pair.zip, manifest, held) : await publishEverywhere(flow, pair.zip, manifest, held, targets);
    const described = await recordContents(published, flow.state.verified, {
      ...aclDeps(flow),
      store: flow.deps.store,
      auditPrefix: flow.deps.auditPrefix,
      now: () => now(flow),
    });
    const result = await applyAcl(described, manifest.public, aclDeps(flow));
    if (flow.state.regionsUnfinished.length > 0) return await unfinishedRegions(flow, held, result);
    const settled = await settle(flow, held, result, claimed.generation);
    held = undefined;
    const entry = await writeResult(flow, settled, ledger);
    await followUps(flow, settled, manifest.retain ?? deps.retainVersions, ledger);
    await afterDecision(flow, settled, manifest, ledger.uploadId);
    await followWithRollout(flow, settled, manifest, ledger.uploadId);
    return entry;
  } catch (error) {
    const entry = await fail(flow, error, held, upload);
    await afterFailure(flow, entry, manifest);
    return entry;
  }
}

/**
 * The follow-ups of a decision settled and written: they never delay or fail the publish, each
 * records in the ledger that it ran (a redelivery shows it and does not repeat it), and the result
 * is written again from the ledger with their fields.
 */
async function followUps(flow: Flow, settled: PublishResult, retain: RetainSetting | undefined, ledger: UploadLedger): Promise<void> {
  const retention = await retainVersions(settled, retain, retentionDeps(flow));
  if (retention === undefined) return;
  try {
    await retrying(flow, 'ledger.retention', () => ledger.recordRetention(retention), true);
    await refreshResult(flow, ledger, settled);
  } catch (error) {
    flow.log.warn('retention.result.write.failed', { error });
  }
}

/** A record whose event fields are malformed still gets a result that says which field. */
export async function reportInvalidRecord(input: RecordInput, deps: PublishDeps, error: InvalidInputError): Promise<SummaryEntry> {
  return reportInvalid(startFlow(input, deps, publishRecord), error);
}

function aclDeps(flow: Flow): AclDeps {
  return { layers: flow.deps.layers, retrying: retryingIn(flow), log: flow.log };
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
