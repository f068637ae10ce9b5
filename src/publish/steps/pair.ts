import { MAX_MANIFEST_BYTES, manifestTooLarge } from '../../manifest/manifest';
import { sameEtag, type ObjectHead } from '../../oss/store';
import { sleep } from '../deadline';
import { canWait, retrying, type Flow } from './context';
import { validateManifest } from './manifest';
import { finish } from './result';
import type { SummaryEntry } from '../result';

/** An object missing right after its own ObjectCreated event is looked for again this often. */
const MISSING_OBJECT_RETRIES_MS = [250, 750];

type Pair = 'stale' | { kind: 'waiting' } | CompletePair;

export interface CompletePair {
  kind: 'pair';
  zip: ObjectHead;
  manifestBody: Buffer;
  manifestHead: ObjectHead;
}

/** The zip and its manifest, both there; else the `waiting` result, written; or `stale`. */
export async function awaitPair(flow: Flow): Promise<'stale' | { kind: 'waiting'; entry: SummaryEntry } | CompletePair> {
  const pair = await findPair(flow);
  if (pair === 'stale' || pair.kind === 'pair') return pair;
  const entry = await finish(flow, { status: 'waiting' });
  // The missing object may have landed, and its own event finished, while this one looked
  // and wrote: look once more, so `waiting` cannot be the last word over a finished pair.
  const again = await findPair(flow);
  if (again === 'stale' || again.kind === 'waiting') return { kind: 'waiting', entry };
  flow.log.info('pair.completed');
  return again;
}

/** Step 1 and 3: the pair, and whether this event still describes the current objects. */
async function findPair(flow: Flow): Promise<Pair> {
  const { input, deps, state } = flow;
  const { keys, role } = input;
  const zip = await lookUp(flow, role === 'zip', () => deps.store.head(keys.zip));
  if (zip !== undefined) Object.assign(state.source, { etag: zip.etag, size: zip.size });
  if (role === 'zip' && zip !== undefined && !sameEtag(zip.etag, input.eventETag)) return 'stale';
  const manifest = await lookUp(flow, role === 'manifest', () => deps.store.read(keys.manifest, MAX_MANIFEST_BYTES));
  if (manifest !== undefined && !('tooLarge' in manifest)) {
    state.manifestInfo = { key: keys.manifest, etag: manifest.head.etag };
    if (role === 'manifest' && !sameEtag(manifest.head.etag, input.eventETag)) return 'stale';
  }
  if (zip === undefined || manifest === undefined) {
    flow.log.info('pair.waiting', { zipFound: zip !== undefined, manifestFound: manifest !== undefined });
    // Name the layer in the waiting result when the manifest can say it; its errors wait for the zip.
    if (manifest !== undefined && !('tooLarge' in manifest)) {
      try {
        validateManifest(flow, manifest.body);
      } catch {
        // Its errors are reported once the zip is there: until then the result is waiting.
      }
    }
    return { kind: 'waiting' };
  }
  if ('tooLarge' in manifest) throw manifestTooLarge(keys.manifest, manifest.size);
  return { kind: 'pair', zip, manifestBody: manifest.body, manifestHead: manifest.head };
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
