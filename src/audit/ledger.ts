import { createHash, randomUUID } from 'node:crypto';
import type { ObjectHead, ObjectStore } from '../oss/store';
import type { PublishResult } from '../publish/result';

/**
 * Exactly once with OSS as the only store (CONTRACT §7, docs/exactly-once.md). One upload is one zip
 * version together with one manifest version; its markers live under `<AUDIT_PREFIX>uploads/<id>/`
 * and are only ever created, never overwritten (PutObject with x-oss-forbid-overwrite is
 * create-if-absent):
 *
 *   claim-<n>.json      attempt n owns the upload for `ttlMs` from the marker's Last-Modified
 *   intent-<n>.json     attempt n is about to call CreateLayerVersion; the newest version before it
 *   released-<n>.json   attempt n is over: it made no version, or its version is in an outcome
 *   outcome.json        published or unchanged; later deliveries repeat it while its version exists
 *   outcome-<g>.json    generation g, written when every earlier outcome names a version since deleted
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
  | { kind: 'busy'; holder: ClaimRecord; remainingMs: number }
  | { kind: 'done'; outcome: Settled };

/** What earlier attempts' intents say before this attempt may create. */
export interface EarlierIntents {
  /** The lowest "newest version before" among them: versions above it may be theirs. */
  earliest: number | undefined;
  /** An earlier CreateLayerVersion that may still land, and for how long (OSS's clock). */
  inDoubt: { attempt: number; requestId: string; remainingMs: number } | undefined;
}

/** Markers are tiny; anything bigger under this prefix was not written by us. */
const MAX_MARKER_BYTES = 256 * 1024;
/** More attempts than this at one upload means something is wrong; stop making markers. */
const MAX_ATTEMPTS = 100;
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
function ttlOf(claim: Partial<ClaimRecord>): number {
  if (typeof claim.ttlMs === 'number') return claim.ttlMs;
  return Date.parse(claim.expiresAt ?? '') - Date.parse(claim.claimedAt ?? '');
}

export class UploadLedger {
  /** Claims this process tried to create: one whose PUT answer was lost is still ours. */
  private readonly tokens = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly auditPrefix: string,
    private readonly uploadId: string,
  ) {}

  private key(name: string): string {
    return `${this.auditPrefix}uploads/${this.uploadId}/${name}`;
  }

  private outcomeKey(generation: number): string {
    return this.key(generation === 1 ? 'outcome.json' : `outcome-${generation}.json`);
  }

  /** The latest generation of the outcome, if the upload was ever decided. */
  async outcome(): Promise<Settled | undefined> {
    let latest: Settled | undefined;
    for (let generation = 1; generation <= MAX_ATTEMPTS; generation++) {
      const read = await this.readMarker<PublishResult>(this.outcomeKey(generation));
      if (read === undefined) return latest;
      latest = { generation, result: read.value };
    }
    return latest;
  }

  /**
   * Claims the upload, or says who holds it and for how long, or returns its outcome if one newer
   * than generation `afterGeneration` exists (older ones were found void by the caller).
   * `ttlMs` is how long this invocation may still run.
   */
  async claim(requestId: string, now: Date, ttlMs: number, afterGeneration = 0): Promise<ClaimOutcome> {
    const done = await this.outcome();
    if (done && done.generation > afterGeneration) return { kind: 'done', outcome: done };
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
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
      const created = await this.store.put(this.key(`claim-${attempt}.json`), JSON.stringify(claim), {
        contentType: 'application/json',
        forbidOverwrite: true,
      });
      if (created === 'created') return { kind: 'claimed', claim };
      const read = await this.readMarker<ClaimRecord>(this.key(`claim-${attempt}.json`));
      if (read === undefined) continue;
      const holder = read.value;
      if (this.tokens.has(holder.token)) return { kind: 'claimed', claim: holder };
      if (await this.store.head(this.key(`released-${attempt}.json`))) continue;
      const remainingMs = remainingOf(read.head, ttlOf(holder), now);
      // A claim without a readable time was not written by an attempt: it holds nothing up.
      if (!(remainingMs > 0)) continue;
      return { kind: 'busy', holder, remainingMs };
    }
    throw new Error(`upload ${this.uploadId} has over ${MAX_ATTEMPTS} claims; refusing to make more`);
  }

  /** Attempt `claim.attempt` is over: it made no version, or the version it made is in an outcome. */
  async release(claim: ClaimRecord, reason: string): Promise<void> {
    await this.store.put(
      this.key(`released-${claim.attempt}.json`),
      JSON.stringify({ uploadId: this.uploadId, attempt: claim.attempt, requestId: claim.requestId, reason }),
      { contentType: 'application/json', forbidOverwrite: true },
    );
  }

  /**
   * Written just before CreateLayerVersion, so a taker-over knows which versions may be this
   * upload's, and until when the create may still land: `landsWithinMs` from the marker. FC may
   * go on with a create after the caller stopped waiting (issue 10: 7 s creates for a 6 s
   * function); it is taken to finish one within twice the claimant's time.
   */
  async recordIntent(claim: ClaimRecord, newestVersionBefore: number): Promise<void> {
    await this.store.put(
      this.key(`intent-${claim.attempt}.json`),
      JSON.stringify({
        uploadId: this.uploadId,
        attempt: claim.attempt,
        requestId: claim.requestId,
        newestVersionBefore,
        landsWithinMs: CREATE_LANDS_WITHIN_TTLS * claim.ttlMs,
      }),
      { contentType: 'application/json', forbidOverwrite: true },
    );
  }

  /** The newest version before attempt `attempt` called CreateLayerVersion, if it got that far. */
  async intentOf(attempt: number): Promise<number | undefined> {
    const read = await this.readMarker<{ newestVersionBefore?: unknown }>(this.key(`intent-${attempt}.json`));
    const version = read?.value.newestVersionBefore;
    return typeof version === 'number' ? version : undefined;
  }

  /**
   * What the attempts before `beforeAttempt` that got as far as creating leave behind: the versions
   * that may be theirs, and a create that may still land (one not released, within its time).
   */
  async earlierIntents(beforeAttempt: number, now: Date): Promise<EarlierIntents> {
    const found: EarlierIntents = { earliest: undefined, inDoubt: undefined };
    for (let attempt = 1; attempt < beforeAttempt; attempt++) {
      const read = await this.readMarker<{ newestVersionBefore?: unknown; landsWithinMs?: unknown; requestId?: unknown }>(
        this.key(`intent-${attempt}.json`),
      );
      const version = read?.value.newestVersionBefore;
      if (read === undefined || typeof version !== 'number') continue;
      if (found.earliest === undefined || version < found.earliest) found.earliest = version;
      const { landsWithinMs, requestId } = read.value;
      if (typeof landsWithinMs !== 'number') continue;
      const remainingMs = remainingOf(read.head, landsWithinMs, now);
      if (!(remainingMs > 0) || (found.inDoubt && found.inDoubt.remainingMs >= remainingMs)) continue;
      if (await this.store.head(this.key(`released-${attempt}.json`))) continue;
      found.inDoubt = { attempt, requestId: typeof requestId === 'string' ? requestId : '(unknown)', remainingMs };
    }
    return found;
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

  private async readMarker<T>(key: string): Promise<{ value: T; head: ObjectHead } | undefined> {
    const read = await this.store.read(key, MAX_MARKER_BYTES);
    if (read === undefined || 'tooLarge' in read) return undefined;
    try {
      return { value: JSON.parse(read.body.toString('utf8')) as T, head: read.head };
    } catch {
      return undefined;
    }
  }
}
