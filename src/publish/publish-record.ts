import type { InvalidInputError } from '../errors';
import { applyAcl, type AclDeps } from './acl';
import { recordContents } from './contents';
import { decide, outcomeOfError, type Reached } from './decide';
import type { Outcome, RecordDecision } from './outcome';
import { learnt, now, retryingIn, startFlow, type Flow, type PublishDeps, type RecordInput } from './steps/context';
import { awaitPair, type CompletePair } from './steps/pair';
import { acceptManifest, factsOf, validateManifest } from './steps/manifest';
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
  const reached: Reaching = { flow: startFlow(input, deps, publishRecord) };
  let outcome: Outcome;
  try {
    const pair = await awaitPair(reached.flow, decide);
    if (pair.kind === 'waited') return pair.decision;
    reached.flow = pair.flow;
    outcome = pair.kind === 'stale' ? { kind: 'stale' } : await publishPair(pair.flow, pair, reached);
  } catch (error) {
    outcome = outcomeOfError(reached.flow, error, reached);
  }
  return decide(reached.flow, outcome);
}

/** What the flow reached (what an exception leaves held), and the flow with what it had learnt of the record. */
type Reaching = Reached & { flow: Flow };

/**
 * Steps 2 to 7 on a complete pair, up to the outcome; `reached` says what an exception leaves held,
 * and what the flow knew by then (the outcome is decided with it).
 */
async function publishPair(found: Flow, pair: CompletePair, reached: Reaching): Promise<Outcome> {
  const { ledger } = ledgerOf(found, pair.zip, pair.manifestHead);
  reached.ledger = ledger;
  const manifest = validateManifest(found, pair.manifestBody);
  const flow = learnt(found, factsOf(found, manifest));
  reached.flow = flow;
  reached.manifest = manifest;
  acceptManifest(flow, manifest, pair.zip);
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
  const described = await recordContents(published.result, flow.zipCheck.verified, {
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
