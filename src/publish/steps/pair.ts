import { MAX_MANIFEST_BYTES, manifestTooLarge } from '../../manifest/manifest';
import { sameEtag, type ObjectHead } from '../../oss/store';
import { sleep } from '../deadline';
import { canWait, learnt, now, retrying, type Flow, type RecordFacts } from './context';
import { factsOf, validateManifest } from './manifest';
import type { Waiting } from '../result';
import type { Outcome, RecordDecision } from '../outcome';
import { nearMissOf } from '../near-miss';

/** An object missing right after its own ObjectCreated event is looked for again this often. */
const MISSING_OBJECT_RETRIES_MS = [250, 750];
/** The near miss is looked for in one ListObjects of the folder: at most this many keys. */
const NEAR_MISS_LIST_KEYS = 1000;

type Pair = 'stale' | { kind: 'waiting'; missing: string; since: string } | CompletePair;

export interface CompletePair {
  kind: 'pair';
  zip: ObjectHead;
  manifestBody: Buffer;
  manifestHead: ObjectHead;
}

/** What looking for the pair ended in, and what it learnt of the objects on the way. */
interface Found {
  pair: Pair;
  facts: Partial<RecordFacts>;
}

type WaitingOutcome = Extract<Outcome, { kind: 'waiting' }>;

/**
 * The zip and its manifest, both there; or `stale`; else the `waiting` outcome, decided (its result
 * written) by `decideWaiting` before the pair is looked at once more.
 */
export async function awaitPair(
  flow: Flow,
  decideWaiting: (flow: Flow, outcome: WaitingOutcome) => Promise<RecordDecision>,
): Promise<{ kind: 'stale'; flow: Flow } | { kind: 'waited'; decision: RecordDecision } | (CompletePair & { flow: Flow })> {
  const found = await findPair(flow);
  const { pair } = found;
  if (pair === 'stale') return { kind: 'stale', flow: learnt(flow, found.facts) };
  if (pair.kind === 'pair') return { ...pair, flow: learnt(flow, found.facts) };
  const nearMiss = await lookBeside(flow, pair.missing);
  const waiting: Waiting = { missing: pair.missing, since: pair.since, ...(nearMiss === undefined ? {} : { nearMiss }) };
  const decision = await decideWaiting(learnt(flow, found.facts), { kind: 'waiting', waiting });
  // The missing object may have landed, and its own event finished, while this one looked
  // and wrote: look once more, so `waiting` cannot be the last word over a finished pair.
  const again = await findPair(flow);
  if (again.pair === 'stale' || again.pair.kind === 'waiting') return { kind: 'waited', decision };
  flow.log.info('pair.completed');
  return { ...again.pair, flow: learnt(flow, again.facts) };
}

/** Step 1 and 3: the pair, and whether this event still describes the current objects. */
async function findPair(flow: Flow): Promise<Found> {
  const { input, deps } = flow;
  const { keys, role } = input;
  const zip = await lookUp(flow, role === 'zip', () => deps.store.head(keys.zip));
  let facts: Partial<RecordFacts> = zip === undefined ? {} : { source: { ...flow.facts.source, etag: zip.etag, size: zip.size } };
  if (role === 'zip' && zip !== undefined && !sameEtag(zip.etag, input.eventETag)) return { pair: 'stale', facts };
  const manifest = await lookUp(flow, role === 'manifest', () => deps.store.read(keys.manifest, MAX_MANIFEST_BYTES));
  if (manifest !== undefined && !('tooLarge' in manifest)) {
    facts = { ...facts, manifestInfo: { key: keys.manifest, etag: manifest.head.etag } };
    if (role === 'manifest' && !sameEtag(manifest.head.etag, input.eventETag)) return { pair: 'stale', facts };
  }
  if (zip === undefined || manifest === undefined) {
    flow.log.info('pair.waiting', { zipFound: zip !== undefined, manifestFound: manifest !== undefined });
    // Name the layer in the waiting result when the manifest can say it; its errors wait for the zip.
    if (manifest !== undefined && !('tooLarge' in manifest)) {
      try {
        const known = learnt(flow, facts);
        facts = { ...facts, ...factsOf(known, validateManifest(known, manifest.body)) };
      } catch {
        // Its errors are reported once the zip is there: until then the result is waiting.
      }
    }
    // Both gone means the event's own object was deleted since: that is what is missing now.
    const there = zip ?? (manifest === undefined ? undefined : 'tooLarge' in manifest ? undefined : manifest.head);
    const missing = zip === undefined && (manifest !== undefined || role === 'zip') ? keys.zip : keys.manifest;
    const since = there === undefined ? (input.eventTime ?? now(flow).toISOString()) : new Date(there.lastModified).toISOString();
    return { pair: { kind: 'waiting', missing, since }, facts };
  }
  if ('tooLarge' in manifest) throw manifestTooLarge(keys.manifest, manifest.size);
  return { pair: { kind: 'pair', zip, manifestBody: manifest.body, manifestHead: manifest.head }, facts };
}

/**
 * A key beside the missing one that was probably meant (`x.ZIP`, `x.json`, `x-1.2.zip`), from one
 * bounded listing of the folder. A courtesy: a listing refused or failed names none.
 */
async function lookBeside(flow: Flow, missing: string): Promise<Waiting['nearMiss']> {
  const folder = missing.slice(0, missing.lastIndexOf('/') + 1);
  try {
    const listed = await retrying(flow, 'near-miss', () => flow.deps.store.list(folder, NEAR_MISS_LIST_KEYS));
    return nearMissOf(missing, listed);
  } catch (error) {
    flow.log.warn('near-miss.failed', { error });
    return undefined;
  }
}

/** The event's own object was just created: a miss is looked for again briefly before it counts. */
async function lookUp<T>(flow: Flow, isEventObject: boolean, read: () => Promise<T | undefined>): Promise<T | undefined> {
  const delays = isEventObject ? MISSING_OBJECT_RETRIES_MS : [];
  for (let attempt = 0; ; attempt++) {
    const found = await retrying(flow, 'lookup', read);
    const delay = delays[attempt];
    if (found !== undefined || delay === undefined || !canWait(flow, delay)) return found;
    await sleep(delay);
  }
}
