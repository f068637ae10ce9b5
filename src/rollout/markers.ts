import { markerName, uploadFolder } from '../audit/layout';
import type { ObjectHead, ObjectStore } from '../oss/store';

/** Markers are tiny; anything bigger under the rollout's prefix was not written by the publisher. */
const MAX_MARKER_BYTES = 64 * 1024;
/** Last-Modified is whole seconds: a marker was written up to this much after it. */
const WHOLE_SECOND_MS = 1_000;

/**
 * One function's markers in the upload's ledger folder (src/audit/ledger.ts), under
 * `<AUDIT_PREFIX>uploads/<upload id>/rollout/<region>/<function>/`; only ever created, never
 * overwritten, so the first writer of each wins and every later delivery reads what it wrote:
 *
 *   intent-<n>.json   attempt n is about to change the function: what it had and what it gets
 *   canary.json       the function version published for the canary, before the alias moves
 *   done.json         the function's entry in the result's `rollout`; later deliveries repeat it
 */
export class FunctionMarkers {
  constructor(
    private readonly store: ObjectStore,
    readonly prefix: string,
  ) {}

  static of(store: ObjectStore, auditPrefix: string, uploadId: string, region: string, functionName: string): FunctionMarkers {
    return new FunctionMarkers(store, uploadFolder(auditPrefix, uploadId) + markerName.rollout(region, functionName));
  }

  read<T>(name: string): Promise<Marker<T> | undefined> {
    return readMarker<T>(this.store, this.prefix + name);
  }

  /** Create-if-absent: `created` when this call wrote it, else what the first writer wrote. */
  async create<T>(name: string, value: T): Promise<{ created: true; value: T } | { created: false; value: T; head: ObjectHead }> {
    const state = await this.store.put(this.prefix + name, JSON.stringify(value), { contentType: 'application/json', forbidOverwrite: true });
    if (state === 'created') return { created: true, value };
    const there = await this.read<T>(name);
    // Created and gone again cannot happen under an append-only prefix; reading it back failed for now.
    if (there === undefined) throw new Error(`${this.prefix}${name} exists but could not be read`);
    return { created: false, ...there };
  }
}

export interface Marker<T> {
  value: T;
  head: ObjectHead;
}

async function readMarker<T>(store: ObjectStore, key: string): Promise<Marker<T> | undefined> {
  const read = await store.read(key, MAX_MARKER_BYTES);
  if (read === undefined) return undefined;
  if ('tooLarge' in read) throw new Error(`${key} is ${read.size} bytes: not a marker the publisher wrote`);
  return { value: JSON.parse(read.body.toString('utf8')) as T, head: read.head };
}

/** How long a marker written with `ttlMs` left still holds, by OSS's clock (the ledger's rule). */
export function remainingMs(head: ObjectHead, ttlMs: number, now: Date): number {
  const answered = Date.parse(head.answeredAt ?? '');
  const nowMs = Number.isFinite(answered) ? answered : now.getTime();
  return Date.parse(head.lastModified) + WHOLE_SECOND_MS + ttlMs - nowMs;
}
