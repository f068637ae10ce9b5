import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type { KeyRole } from '../keys';
import type { ObjectHead, ObjectStore } from '../oss/store';
import {
  regionEntrySchema,
  resultSchema,
  retentionSchema,
  uploaderSchema,
  type PublishResult,
  type RegionResult,
  type RetentionOutcome,
} from '../result/document';
import { createLogFolder, markerName, markerOf, uploadFolder } from './layout';
import { readMarker, type ReadMarker } from './marker';
import { highestInSequence } from './sequence';

/**
 * Exactly once with OSS as the only store (docs/contract.md §7, docs/exactly-once.md). One upload is one zip
 * version together with one manifest version; its markers live under `<AUDIT_PREFIX>uploads/<id>/`
 * (keys spelled in src/audit/layout.ts) and are only ever created, never overwritten (PutObject
 * with x-oss-forbid-overwrite is create-if-absent):
 *
 *   claim-<n>.json      attempt n owns the upload for `ttlMs` from the marker's Last-Modified
 *   intent-<n>.json     attempt n is about to call CreateLayerVersion; the newest version before it
 *   released-<n>.json   attempt n is over: it made no version, or its version is in an outcome
 *   outcome.json        published or unchanged; later deliveries repeat it while its version exists
 *   outcome-<g>.json    generation g, written when every earlier outcome names a version since deleted
 *   provenance-<zip|manifest>.json
 *                       who uploaded that object, written by its own event (or from its waiting result)
 *   failed-<what>.json  the first failed result of one failure, which every delivery meeting it repeats
 *   followups/<name>.json
 *                       what a follow-up of the settled decision (retention) did, so a redelivery
 *                       shows it and does not do it again
 *   regions/<r>/intent-<n>.json, regions/<r>/outcome.json
 *                       the same per other region: one claim covers every region; a region
 *                       with an outcome (published, unchanged, failed for good) is not worked on again
 *
 * A marker that cannot be read back (not JSON, not the shape written, over MAX_MARKER_BYTES) was
 * not written by the publisher: it counts as absent, and since it is never overwritten the upload
 * goes on without it (a claim that cannot be read holds nothing up; an uploader adds nothing).
 *
 * Time in the ledger is OSS's: a marker was written at its Last-Modified, and "now" is the `Date`
 * of the answer that brought the marker. Instances' clocks never meet, so a skewed one can neither
 * take over a live claim nor hold the upload up past the claim's own time.
 */
export interface UploadIdentity {
  bucket: string;
  zipKey: string;
  zip: Pick<ObjectHead, 'etag' | 'lastModified'>;
  manifestKey: string;
  manifest: Pick<ObjectHead, 'etag' | 'lastModified'>;
}

export function uploadIdOf(identity: UploadIdentity): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        identity.bucket,
        identity.zipKey,
        identity.zip.etag,
        identity.zip.lastModified,
        identity.manifestKey,
        identity.manifest.etag,
        identity.manifest.lastModified,
      ]),
    )
    .digest('hex')
    .slice(0, 40);
}

export interface ClaimRecord {
  uploadId: string;
  attempt: number;
  requestId: string;
  /** The claimant's own clock, for people reading the marker; never compared across instances. */
  claimedAt: string;
  expiresAt: string;
  /** How long the claim holds from its marker's Last-Modified: what the claimant's invocation had left. */
  ttlMs: number;
  token: string;
}

/** An outcome and its generation (1 is `outcome.json`). */
export interface Settled {
  generation: number;
  result: PublishResult;
}

export type ClaimOutcome =
  | { kind: 'claimed'; claim: ClaimRecord }
  | { kind: 'busy'; holder: ClaimMarker; remainingMs: number }
  | { kind: 'done'; outcome: Settled };

/**
 * The states of docs/exactly-once.md's diagram, as the home folder's markers show them to one
 * delivery (the ledger object, which knows the claims this process made). `stateFrom` derives it,
 * in this module only; `claim` switches on it.
 */
export type UploadState =
  /** No outcome stands and no attempt holds the upload: the next delivery claims `nextAttempt`. */
  | { name: 'START'; nextAttempt: number }
  /** Another attempt's claim is live and not released: wait for it, or adopt what its intent points at. */
  | { name: 'BUSY'; holder: ClaimMarker; remainingMs: number }
  /** This process holds the claim and recorded no intent yet. */
  | { name: 'CLAIMED'; claim: ClaimRecord }
  /** This process holds the claim and recorded its intent: CreateLayerVersion is sent, or about to be. */
  | { name: 'INTENT'; claim: ClaimRecord; newestVersionBefore: number }
  /**
   * The latest attempt recorded an intent and its claim ran out unreleased: its create had no
   * answer (or it died after sending it) and may still land. Until when is the create log's word
   * (`CreateLog.inDoubt`); the next delivery claims `nextAttempt` and looks above the intent.
   */
  | { name: 'IN DOUBT'; attempt: number; newestVersionBefore: number; nextAttempt: number }
  /** An outcome newer than the generations found void stands: every delivery repeats it. */
  | { name: 'SETTLED'; outcome: Settled }
  /** The latest attempt released its claim and no outcome was ever recorded: it made no version. */
  | { name: 'RELEASED'; attempt: number; nextAttempt: number };

/**
 * The markers of an upload's home folder that decide its state, as listed and read back once.
 * An unreadable marker is absent here, except that its attempt's number stays taken (a claim PUT
 * there would find it).
 */
export interface Markers {
  /** The outcomes in generation order, up to the first missing or unreadable one. */
  outcomes: readonly Settled[];
  /** Every attempt with a claim key listed; the claim as read back, undefined when unreadable or released (not read). */
  claims: ReadonlyMap<number, ReadMarker<ClaimMarker> | undefined>;
  released: ReadonlySet<number>;
  /** `newestVersionBefore` of each attempt's readable intent. */
  intents: ReadonlyMap<number, number>;
}

/**
 * The upload's state (docs/exactly-once.md, States) from its markers: outcomes of generation
 * `afterGeneration` and below were found void (their version is gone) and are decided again;
 * `own` holds the tokens of the claims this process made (one whose PUT answer was lost is still its).
 */
export function stateFrom(markers: Markers, now: Date, afterGeneration: number, own: ReadonlySet<string>): UploadState {
  const latestOutcome = markers.outcomes.at(-1);
  if (latestOutcome !== undefined && latestOutcome.generation > afterGeneration) return { name: 'SETTLED', outcome: latestOutcome };
  const attempts = [...markers.claims.keys()].sort((a, b) => a - b);
  for (const attempt of attempts) {
    const read = markers.claims.get(attempt);
    if (read === undefined || markers.released.has(attempt)) continue;
    const holder = read.value;
    const intent = markers.intents.get(attempt);
    // This process wrote it whole (a `ClaimRecord`): read as one, it is this delivery's claim.
    const mine = holder.token !== undefined && own.has(holder.token) ? claimRecordSchema.safeParse(holder) : undefined;
    if (mine?.success) {
      return intent === undefined ? { name: 'CLAIMED', claim: mine.data } : { name: 'INTENT', claim: mine.data, newestVersionBefore: intent };
    }
    const remainingMs = remainingOf(read.head, ttlOf(holder), now);
    // A claim without a readable time was not written by an attempt: it holds nothing up.
    if (remainingMs > 0) return { name: 'BUSY', holder, remainingMs };
  }
  let nextAttempt = 1;
  while (markers.claims.has(nextAttempt)) nextAttempt++;
  const latest = attempts.at(-1);
  if (latest === undefined || latestOutcome !== undefined) return { name: 'START', nextAttempt };
  if (markers.released.has(latest)) return { name: 'RELEASED', attempt: latest, nextAttempt };
  const intent = markers.intents.get(latest);
  if (intent !== undefined) return { name: 'IN DOUBT', attempt: latest, newestVersionBefore: intent, nextAttempt };
  // It died (or its claim was unreadable) before recording an intent: it made no version.
  return { name: 'START', nextAttempt };
}

/** A CreateLayerVersion of this zip key that may still land, and for how long (OSS's clock). */
export interface CreateInDoubt {
  uploadId: string;
  attempt: number;
  requestId: string;
  remainingMs: number;
}

/** A claim as read back: claims written before `ttlMs` existed carry `claimedAt` and `expiresAt` instead. */
const claimSchema = z.looseObject({
  uploadId: z.string(),
  attempt: z.number(),
  requestId: z.string(),
  claimedAt: z.optional(z.string()),
  expiresAt: z.optional(z.string()),
  ttlMs: z.optional(z.number()),
  token: z.optional(z.string()),
});
export type ClaimMarker = z.infer<typeof claimSchema>;

/** A claim this process made, as it wrote it. */
const claimRecordSchema = z.object({
  uploadId: z.string(),
  attempt: z.number(),
  requestId: z.string(),
  claimedAt: z.string(),
  expiresAt: z.string(),
  ttlMs: z.number(),
  token: z.string(),
}) satisfies z.ZodMiniType<ClaimRecord>;

const intentSchema = z.looseObject({ newestVersionBefore: z.number() });

const createEntrySchema = z.looseObject({ uploadId: z.string(), attempt: z.number(), requestId: z.optional(z.string()), landsWithinMs: z.number() });

/** What retention did where it ran: the home region's, and each other region's by name. */
export interface RetentionDone {
  home?: RetentionOutcome | undefined;
  regions: Record<string, RetentionOutcome>;
}

const retentionDoneSchema = z.object({ home: z.optional(retentionSchema), regions: z.record(z.string(), retentionSchema) });

/** Who uploaded each object of the upload, as far as their events have told. */
export type Uploaders = Partial<Record<KeyRole, z.infer<typeof uploaderSchema>>>;

/** Markers are tiny; anything bigger under this prefix was not written by us. */
const MAX_MARKER_BYTES = 256 * 1024;
/** More attempts than this at one upload means something is wrong; stop making markers. */
const MAX_ATTEMPTS = 100;
/**
 * One ListObjects of an upload's folder: claims, intents and releases of MAX_ATTEMPTS attempts,
 * their outcomes, failures and uploaders fit well within it.
 */
const MAX_LISTED_MARKERS = 1_000;
/** Creates recorded for one key before the log refuses more (about one a day for 170 years). */
const MAX_CREATES = 65_536;
/** How many of the claimant's times a create without an answer may still land in. */
const CREATE_LANDS_WITHIN_TTLS = 2;
/** Last-Modified and Date are whole seconds: a marker was written up to this much after its Last-Modified. */
const WHOLE_SECOND_MS = 1_000;

/** OSS's time when it answered, as far as the answer says; the caller's clock otherwise. */
function serverNowMs(head: ObjectHead, fallback: Date): number {
  const answered = Date.parse(head.answeredAt ?? '');
  return Number.isFinite(answered) ? answered : fallback.getTime();
}

/** How long a marker written `ttlMs` before its end still holds, by OSS's clock. */
function remainingOf(head: ObjectHead, ttlMs: number, now: Date): number {
  const written = Date.parse(head.lastModified) + WHOLE_SECOND_MS;
  return written + ttlMs - serverNowMs(head, now);
}

/** Claims written before `ttlMs` existed carry two instants of the claimant's clock: their difference is a duration. */
function ttlOf(claim: ClaimMarker): number {
  if (typeof claim.ttlMs === 'number') return claim.ttlMs;
  return Date.parse(claim.expiresAt ?? '') - Date.parse(claim.claimedAt ?? '');
}

export class UploadLedger {
  /** Claims this process tried to create: one whose PUT answer was lost is still ours. */
  private readonly tokens = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly auditPrefix: string,
    /** The upload's id: names its folder, and its staged copies in other regions. */
    readonly uploadId: string,
  ) {}

  /** `region` is another region's marker; the home region's are the upload's own, as before regions. */
  private key(name: string, region?: string): string {
    return uploadFolder(this.auditPrefix, this.uploadId, region) + name;
  }

  private outcomeKey(generation: number): string {
    return this.key(markerName.outcome(generation));
  }

  /** The latest generation of the outcome, if the upload was ever decided. */
  async outcome(): Promise<Settled | undefined> {
    let latest: Settled | undefined;
    for (let generation = 1; generation <= MAX_ATTEMPTS; generation++) {
      const read = await this.readParsed(this.outcomeKey(generation), resultSchema);
      if (read === undefined) return latest;
      latest = { generation, result: read.value };
    }
    return latest;
  }

  /** The markers of the upload's home folder that decide its state: one listing, then each read through its schema. */
  async markers(): Promise<Markers> {
    const folder = this.key('');
    const listed = (await this.store.list(folder, MAX_LISTED_MARKERS)).flatMap((key) => {
      const marker = markerOf(key.slice(folder.length));
      return marker === undefined ? [] : [marker];
    });
    const attemptsOf = (kind: 'claim' | 'intent' | 'released') => listed.flatMap((marker) => (marker.kind === kind ? [marker.attempt] : []));
    const released = new Set(attemptsOf('released'));
    const generations = new Set(listed.flatMap((marker) => (marker.kind === 'outcome' ? [marker.generation] : [])));
    const outcomes: Settled[] = [];
    for (let generation = 1; generations.has(generation); generation++) {
      const read = await this.readParsed(this.outcomeKey(generation), resultSchema);
      if (read === undefined) break;
      outcomes.push({ generation, result: read.value });
    }
    const claims = new Map<number, ReadMarker<ClaimMarker> | undefined>();
    for (const attempt of attemptsOf('claim')) {
      claims.set(attempt, released.has(attempt) ? undefined : await this.readParsed(this.key(markerName.claim(attempt)), claimSchema));
    }
    const intents = new Map<number, number>();
    for (const attempt of attemptsOf('intent')) {
      const intent = await this.intentOf(attempt);
      if (intent !== undefined) intents.set(attempt, intent);
    }
    return { outcomes, claims, released, intents };
  }

  /** The upload's state now (docs/exactly-once.md, States), outcomes up to `afterGeneration` being void. */
  async stateOf(now: Date, afterGeneration = 0): Promise<UploadState> {
    return stateFrom(await this.markers(), now, afterGeneration, this.tokens);
  }

  /**
   * START → CLAIMED, or START → BUSY, or SETTLED (an outcome newer than generation
   * `afterGeneration` exists; older ones were found void by the caller). `ttlMs` is how long this
   * invocation may still run.
   */
  async claim(requestId: string, now: Date, ttlMs: number, afterGeneration = 0): Promise<ClaimOutcome> {
    for (let look = 1; look <= MAX_ATTEMPTS; look++) {
      const state = await this.stateOf(now, afterGeneration);
      switch (state.name) {
        case 'SETTLED':
          return { kind: 'done', outcome: state.outcome };
        case 'BUSY':
          return { kind: 'busy', holder: state.holder, remainingMs: state.remainingMs };
        case 'CLAIMED':
        case 'INTENT':
          return { kind: 'claimed', claim: state.claim };
        case 'START':
        case 'RELEASED':
        case 'IN DOUBT': {
          const claim = await this.claimAttempt(state.nextAttempt, requestId, now, ttlMs);
          if (claim !== undefined) return { kind: 'claimed', claim };
          // Another delivery claimed that attempt first: look again.
        }
      }
    }
    throw new Error(`upload ${this.uploadId} was claimed by others ${MAX_ATTEMPTS} times while this delivery looked`);
  }

  /** Creates `claim-<attempt>.json`; undefined when it exists already. */
  private async claimAttempt(attempt: number, requestId: string, now: Date, ttlMs: number): Promise<ClaimRecord | undefined> {
    if (attempt > MAX_ATTEMPTS) throw new Error(`upload ${this.uploadId} has over ${MAX_ATTEMPTS} claims; refusing to make more`);
    const claim: ClaimRecord = {
      uploadId: this.uploadId,
      attempt,
      requestId,
      claimedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
      ttlMs,
      token: randomUUID(),
    };
    this.tokens.add(claim.token);
    const created = await this.store.put(this.key(markerName.claim(attempt)), JSON.stringify(claim), {
      contentType: 'application/json',
      forbidOverwrite: true,
    });
    return created === 'created' ? claim : undefined;
  }

  /** Attempt `claim.attempt` is over: it made no version, or the version it made is in an outcome. */
  async release(claim: ClaimRecord, reason: string): Promise<void> {
    await this.store.put(
      this.key(markerName.released(claim.attempt)),
      JSON.stringify({ uploadId: this.uploadId, attempt: claim.attempt, requestId: claim.requestId, reason }),
      { contentType: 'application/json', forbidOverwrite: true },
    );
  }

  /** Written just before CreateLayerVersion, so a taker-over knows which versions may be this upload's. */
  async recordIntent(claim: ClaimRecord, newestVersionBefore: number, region?: string): Promise<void> {
    await this.store.put(
      this.key(markerName.intent(claim.attempt), region),
      JSON.stringify({ uploadId: this.uploadId, attempt: claim.attempt, requestId: claim.requestId, newestVersionBefore, region }),
      { contentType: 'application/json', forbidOverwrite: true },
    );
  }

  /** Whether attempt `attempt` of upload `uploadId` is over (released: settled, or failed with no create in doubt). */
  static async isOver(store: ObjectStore, auditPrefix: string, uploadId: string, attempt: number): Promise<boolean> {
    return (await store.head(uploadFolder(auditPrefix, uploadId) + markerName.released(attempt))) !== undefined;
  }

  /** The newest version before attempt `attempt` called CreateLayerVersion, if it got that far. */
  async intentOf(attempt: number, region?: string): Promise<number | undefined> {
    return (await this.readParsed(this.key(markerName.intent(attempt), region), intentSchema))?.value.newestVersionBefore;
  }

  /**
   * The lowest "newest version before" among earlier attempts that got as far as creating, or
   * undefined when none did (then no existing version can be this upload's).
   */
  async earliestIntent(beforeAttempt: number, region?: string): Promise<number | undefined> {
    let earliest: number | undefined;
    for (let attempt = 1; attempt < beforeAttempt; attempt++) {
      const version = await this.intentOf(attempt, region);
      if (version !== undefined && (earliest === undefined || version < earliest)) earliest = version;
    }
    return earliest;
  }

  /** Records generation `generation` of the outcome once; if another attempt got there first, its result stands. */
  async settle(result: PublishResult, generation: number): Promise<Settled> {
    const created = await this.store.put(this.outcomeKey(generation), JSON.stringify(result, null, 2), {
      contentType: 'application/json',
      forbidOverwrite: true,
    });
    if (created === 'created') return { generation, result };
    return (await this.outcome()) ?? { generation, result };
  }

  /** Another region's entry, once that region is settled. */
  async regionOutcome(region: string): Promise<RegionResult | undefined> {
    return (await this.readParsed(this.key('outcome.json', region), regionEntrySchema))?.value;
  }

  /** Settles a region once; if another attempt got there first, its entry stands. */
  async settleRegion(region: string, entry: RegionResult): Promise<RegionResult> {
    const created = await this.store.put(this.key('outcome.json', region), JSON.stringify(entry, null, 2), {
      contentType: 'application/json',
      forbidOverwrite: true,
    });
    if (created === 'created') return entry;
    return (await this.regionOutcome(region)) ?? entry;
  }

  /**
   * Who uploaded the zip or the manifest, once: the first event to tell it writes it, and the
   * uploader is the object version's, so a later telling is the same. `'created'` when this call
   * added it (then it is news to the trail).
   */
  async recordUploader(role: KeyRole, uploader: z.infer<typeof uploaderSchema>): Promise<'created' | 'exists'> {
    return this.store.put(this.key(markerName.provenance(role)), JSON.stringify(uploader), { contentType: 'application/json', forbidOverwrite: true });
  }

  async uploaders(): Promise<Uploaders> {
    const [zip, manifest] = await Promise.all(
      (['zip', 'manifest'] as const).map(async (role) => (await this.readParsed(this.key(markerName.provenance(role)), uploaderSchema))?.value),
    );
    return { ...(zip === undefined ? {} : { zip }), ...(manifest === undefined ? {} : { manifest }) };
  }

  /**
   * A failed decision, once per `what` (the error, and the attempt for one that may pass later):
   * every delivery meeting the same failure repeats the first one's result, so it is one decision.
   */
  async recordFailure(what: string, result: PublishResult): Promise<PublishResult> {
    const key = this.key(markerName.failed(what));
    const created = await this.store.put(key, JSON.stringify(result, null, 2), { contentType: 'application/json', forbidOverwrite: true });
    if (created === 'created') return result;
    return (await this.readParsed(key, resultSchema))?.value ?? result;
  }

  /** What retention did, recorded once by the attempt that ran it; the first record stands. */
  async recordRetention(done: RetentionDone): Promise<RetentionDone> {
    const created = await this.store.put(this.key(markerName.followUp('retention')), JSON.stringify(done, null, 2), {
      contentType: 'application/json',
      forbidOverwrite: true,
    });
    return created === 'created' ? done : ((await this.retention()) ?? done);
  }

  async retention(): Promise<RetentionDone | undefined> {
    return (await this.readParsed(this.key(markerName.followUp('retention')), retentionDoneSchema))?.value;
  }

  private readParsed<T>(key: string, schema: z.ZodMiniType<T>): Promise<ReadMarker<T> | undefined> {
    return readMarker(this.store, key, schema, MAX_MARKER_BYTES);
  }
}

/**
 * Every CreateLayerVersion of one zip key, whatever the upload, in order: `<AUDIT_PREFIX>creates/
 * <hash of bucket and key>/<n>.json`, each written just before its create. FC reads the object at
 * the key when it carries a create out, so a create of an older upload that FC runs late builds
 * from the newer upload's bytes: no upload of the key may decide while one is in doubt.
 */
export class CreateLog {
  private readonly base: string;

  constructor(
    private readonly store: ObjectStore,
    private readonly auditPrefix: string,
    bucket: string,
    zipKey: string,
  ) {
    this.base = createLogFolder(auditPrefix, bucket, zipKey);
  }

  private key(n: number): string {
    return `${this.base}${n}.json`;
  }

  /**
   * Records a create about to be made. FC may go on with it after the caller stopped waiting
   *; it is taken to land, if at all, within twice the
   * claimant's time of this marker.
   */
  async record(claim: ClaimRecord): Promise<void> {
    const entry = JSON.stringify({
      uploadId: claim.uploadId,
      attempt: claim.attempt,
      requestId: claim.requestId,
      landsWithinMs: CREATE_LANDS_WITHIN_TTLS * claim.ttlMs,
    });
    for (let n = (await this.highest()) + 1; n <= MAX_CREATES; n++) {
      const created = await this.store.put(this.key(n), entry, { contentType: 'application/json', forbidOverwrite: true });
      if (created === 'created') return;
    }
    throw new Error(`${this.base}: over ${MAX_CREATES} creates recorded for one key`);
  }

  /** A recorded create that is neither over nor past its time, the newest first. */
  async inDoubt(now: Date): Promise<CreateInDoubt | undefined> {
    for (let n = await this.highest(); n >= 1; n--) {
      const read = await readMarker(this.store, this.key(n), createEntrySchema, MAX_MARKER_BYTES);
      if (read === undefined) continue;
      const { uploadId, attempt, requestId, landsWithinMs } = read.value;
      const remainingMs = remainingOf(read.head, landsWithinMs, now);
      // Recorded in order: once one is past its time, the older ones are too.
      if (!(remainingMs > 0)) return undefined;
      if (await UploadLedger.isOver(this.store, this.auditPrefix, uploadId, attempt)) continue;
      return { uploadId, attempt, requestId: requestId ?? '(unknown)', remainingMs };
    }
    return undefined;
  }

  /** The highest n recorded (0 for none). */
  private highest(): Promise<number> {
    return highestInSequence(this.store, (n) => this.key(n), MAX_CREATES);
  }
}
