import * as z from 'zod/mini';
import { markerName, rolloutMarkerName, uploadFolder } from '../audit/layout';
import { readMarker } from '../audit/marker';
import type { ObjectHead, ObjectStore } from '../oss/store';
import type { FunctionRollout } from './outcome';

/** Markers are tiny; anything bigger under the rollout's prefix was not written by the publisher. */
const MAX_MARKER_BYTES = 64 * 1024;
/** Last-Modified is whole seconds: a marker was written up to this much after it. */
const WHOLE_SECOND_MS = 1_000;

const layersSchema = z.array(z.string());
const aliasTargetSchema = z.object({ versionId: z.string(), additionalVersionWeight: z.record(z.string(), z.number()) });

/** `intent-<n>.json`: attempt n is about to change the function, from `before` to `after`. */
const intentSchema = z.object({ before: layersSchema, after: layersSchema, requestId: z.string(), ttlMs: z.number() });
export type Intent = z.infer<typeof intentSchema>;

/** `canary.json`: the alias as the canary found it, before anything moved it. */
const canarySchema = z.object({ before: aliasTargetSchema, requestId: z.string(), ttlMs: z.number() });
export type CanaryMarker = z.infer<typeof canarySchema>;

/** `done.json`: the function's entry in the result's `rollout` (src/rollout/outcome.ts). */
const doneSchema: z.ZodMiniType<FunctionRollout> = z.object({
  functionName: z.string(),
  region: z.optional(z.string()),
  status: z.enum(['updated', 'current', 'skipped', 'notAllowed', 'missing', 'refused', 'conflict', 'pending', 'failed']),
  before: z.optional(layersSchema),
  after: z.optional(layersSchema),
  reason: z.optional(z.string()),
  canary: z.optional(
    z.object({
      alias: z.string(),
      weight: z.number(),
      functionVersion: z.optional(z.string()),
      before: z.optional(aliasTargetSchema),
      after: z.optional(aliasTargetSchema),
      error: z.optional(z.string()),
    }),
  ),
});

export interface Marker<T> {
  value: T;
  head: ObjectHead;
}

/**
 * What a create-if-absent found: `created` when this call wrote it; else what the first writer
 * wrote, or `unreadable` when what is there is not a marker of this kind (see FunctionMarkers).
 */
export type Created<T> = { created: true; value: T } | ({ created: false } & Marker<T>) | { created: false; unreadable: true };

/**
 * One function's markers in the upload's ledger folder (src/audit/ledger.ts), under
 * `<AUDIT_PREFIX>uploads/<upload id>/rollout/<region>/<function>/`; only ever created, never
 * overwritten, so the first writer of each wins and every later delivery reads what it wrote:
 *
 *   intent-<n>.json   attempt n is about to change the function: what it had and what it gets
 *   canary.json       the alias as it was, before the canary's function version moves it
 *   done.json         the function's entry in the result's `rollout`; later deliveries repeat it
 *
 * Each is read through its schema. One that is not ours (too large, not JSON, not the shape
 * written) counts as absent, as the ledger's markers do: a delivery never stops on it, and the
 * function's own state (read back from FC before every change) keeps it from moving twice.
 */
export class FunctionMarkers {
  constructor(
    private readonly store: ObjectStore,
    readonly prefix: string,
  ) {}

  static of(store: ObjectStore, auditPrefix: string, uploadId: string, region: string, functionName: string): FunctionMarkers {
    return new FunctionMarkers(store, uploadFolder(auditPrefix, uploadId) + markerName.rollout(region, functionName));
  }

  readDone(): Promise<Marker<FunctionRollout> | undefined> {
    return this.read(rolloutMarkerName.done(), doneSchema);
  }

  createDone(outcome: FunctionRollout): Promise<Created<FunctionRollout>> {
    return this.create(rolloutMarkerName.done(), doneSchema, outcome);
  }

  createIntent(attempt: number, intent: Intent): Promise<Created<Intent>> {
    return this.create(rolloutMarkerName.intent(attempt), intentSchema, intent);
  }

  readCanary(): Promise<Marker<CanaryMarker> | undefined> {
    return this.read(rolloutMarkerName.canary(), canarySchema);
  }

  createCanary(marker: CanaryMarker): Promise<Created<CanaryMarker>> {
    return this.create(rolloutMarkerName.canary(), canarySchema, marker);
  }

  private read<T>(name: string, schema: z.ZodMiniType<T>): Promise<Marker<T> | undefined> {
    return readMarker(this.store, this.prefix + name, schema, MAX_MARKER_BYTES);
  }

  private async create<T>(name: string, schema: z.ZodMiniType<T>, value: T): Promise<Created<T>> {
    const state = await this.store.put(this.prefix + name, JSON.stringify(value), { contentType: 'application/json', forbidOverwrite: true });
    if (state === 'created') return { created: true, value };
    const there = await this.read(name, schema);
    return there === undefined ? { created: false, unreadable: true } : { created: false, ...there };
  }
}

/** How long a marker written with `ttlMs` left still holds, by OSS's clock (the ledger's rule). */
export function remainingMs(head: ObjectHead, ttlMs: number, now: Date): number {
  const answered = Date.parse(head.answeredAt ?? '');
  const nowMs = Number.isFinite(answered) ? answered : now.getTime();
  return Date.parse(head.lastModified) + WHOLE_SECOND_MS + ttlMs - nowMs;
}
