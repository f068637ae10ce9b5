import type { InvalidInputError } from '../errors';
import { applyAcl, type AclDeps } from './acl';
import { recordContents } from './contents';
import { decide, outcomeOfError, type Reached } from './decide';
import type { Outcome, RecordDecision } from './outcome';
import { now, retryingIn, startFlow, type Flow, type PublishDeps, type RecordInput } from './steps/context';
import { awaitPair, type CompletePair } from './steps/pair';
import { acceptManifest } from './steps/manifest';
import { claimUpload, ledgerOf } from './steps/claim';
import { publish } from './steps/create';
import { publishEverywhere, regionsOf, unfinishedFailure } from './steps/regions';

export type { PublishDeps, RecordInput } from './steps/context';
export type { RecordDecision } from './outcome';

/**
 * What one event record does (docs/contract.md §5), as plain steps over the storage and layer interfaces,
 * each in its own module under `steps/`. The steps end in one outcome value, an exception (a bug, or
 * I/O that exhausted its retries) in a `failed` one, and `decide` alone acts on it: the returned
 * decision says what the handler reports, and whether it must reject.
 */
export async function publishRecord(input: RecordInput, deps: PublishDeps): Promise<RecordDecision> {
  const flow = startFlow(input, deps, publishRecord);
  const reached: Reached = {};
  let outcome: Outcome;
  try {
    const pair = await awaitPair(flow, (waiting) => decide(flow, waiting));
    if (pair.kind === 'waited') return pair.decision;
    outcome = pair.kind === 'stale' ? pair : await publishPair(flow, pair, reached);
  } catch (error) {
    outcome = outcomeOfError(flow, error, reached);
  }
  return decide(flow, outcome);
}

/** Steps 2 to 7 on a complete pair, up to the outcome; `reached` says what an exception leaves held. */
async function publishPair(flow: Flow, pair: CompletePair, reached: Reached): Promise<Outcome> {
  const { ledger } = ledgerOf(flow, pair.zip, pair.manifestHead);
  reached.ledger = ledger;
  const manifest = acceptManifest(flow, pair.manifestBody, pair.zip);
  reached.manifest = manifest;
  const upload = { ledger, manifest };
  const targets = regionsOf(flow, manifest);
  const claimed = await claimUpload(flow, ledger, pair.zip, manifest, targets);
  if (claimed.kind === 'busy') return { kind: 'redeliver', reason: claimed.busy.reason };
  if (claimed.kind === 'settled') return { kind: claimed.outcome.status === 'unchanged' ? 'unchanged' : 'published', result: claimed.outcome, upload };
  const { held } = claimed;
  reached.held = held;
  const published = targets === undefined ? await publish(flow, pair.zip, manifest, held) : await publishEverywhere(flow, pair.zip, manifest, held, targets);
  const { spread } = published;
  reached.spread = spread;
  const createInDoubtIn = spread?.createInDoubt;
  if (published.kind === 'busy') {
    return { kind: 'redeliver', reason: published.busy.reason, claim: { held, reason: 'an earlier attempt may still publish', createInDoubtIn } };
  }
  if (published.kind === 'failed') return outcomeOfError(flow, published.error, reached);
  const described = await recordContents(published.result, flow.state.verified, {
    ...aclDeps(flow),
    store: flow.deps.store,
    auditPrefix: flow.deps.auditPrefix,
    now: () => now(flow),
  });
  const result = await applyAcl(described, manifest.public, aclDeps(flow));
  if (spread !== undefined && spread.unfinished.length > 0) {
    // Some region failed for now: the result says how far every region got, nothing is settled,
    // and the redelivery works only on the regions still missing (docs/regions.md).
    const pending = unfinishedFailure(spread);
    return {
      kind: 'redeliver',
      reason: pending,
      claim: { held, reason: flow.deps.logger.redact(pending), createInDoubtIn },
      result: { document: result, ledger, spread },
    };
  }
  return { kind: result.status === 'unchanged' ? 'unchanged' : 'published', result, upload, settle: { held, generation: claimed.generation }, spread };
}

/** A record whose event fields are malformed still gets a result that says which field. */
export async function reportInvalidRecord(input: RecordInput, deps: PublishDeps, error: InvalidInputError): Promise<RecordDecision> {
  return decide(startFlow(input, deps, publishRecord), { kind: 'invalid', failure: error });
}

function aclDeps(flow: Flow): AclDeps {
  return { layers: flow.deps.layers, retrying: retryingIn(flow), log: flow.log };
}
