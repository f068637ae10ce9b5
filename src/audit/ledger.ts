import { createHash, randomUUID } from 'node:crypto';
import type { ObjectHead, ObjectStore } from '../oss/store';
import type { PublishResult } from '../publish/result';

/**
 * Exactly once with OSS as the only store (CONTRACT §7). One upload is one zip version together with
 * one manifest version; its markers live under `<AUDIT_PREFIX>uploads/<id>/` and are only ever
 * created, never overwritten (PutObject with x-oss-forbid-overwrite is create-if-absent):
 *
 *   claim-<n>.json     attempt n owns the upload until `expiresAt` (its invocation's timeout)
 *   intent-<n>.json    attempt n is about to call CreateLayerVersion; the newest version before it
 *   released-<n>.json  attempt n failed without making a version; attempt n+1 may start at once
 *   outcome.json       published or unchanged; every later delivery repeats it instead of publishing
 *
 * An attempt that dies leaves claim-n unreleased: the next delivery waits for it to expire, then
 * claims n+1. If a dead attempt left an intent, a version newer than the intent's that holds this
 * code, description and runtimes is the dead attempt's, and is adopted instead of made again.
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
  claimedAt: string;
  expiresAt: string;
  token: string;
}

export type ClaimOutcome =
  | { kind: 'claimed'; claim: ClaimRecord }
  | { kind: 'busy'; holder: ClaimRecord }
  | { kind: 'done'; outcome: PublishResult };

/** Markers are tiny; anything bigger under this prefix was not written by us. */
const MAX_MARKER_BYTES = 256 * 1024;
/** More attempts than this at one upload means something is wrong; stop making markers. */
const MAX_ATTEMPTS = 100;

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

  async outcome(): Promise<PublishResult | undefined> {
    return this.readJson<PublishResult>(this.key('outcome.json'));
  }

  /**
   * Claims the upload, or says who holds it, or returns its outcome if it is already decided.
   * `expiresAt` is when this invocation will surely be over (its function timeout).
   */
  async claim(requestId: string, now: Date, expiresAt: Date): Promise<ClaimOutcome> {
    const done = await this.outcome();
    if (done) return { kind: 'done', outcome: done };
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const claim: ClaimRecord = {
        uploadId: this.uploadId,
        attempt,
        requestId,
        claimedAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
        token: randomUUID(),
      };
      this.tokens.add(claim.token);
      const created = await this.store.put(this.key(`claim-${attempt}.json`), JSON.stringify(claim), {
        contentType: 'application/json',
        forbidOverwrite: true,
      });
      if (created === 'created') return { kind: 'claimed', claim };
      const holder = await this.readJson<ClaimRecord>(this.key(`claim-${attempt}.json`));
      if (holder === undefined) continue;
      if (this.tokens.has(holder.token)) return { kind: 'claimed', claim: holder };
      const released = await this.store.head(this.key(`released-${attempt}.json`));
      // A claim without a readable expiry was not written by an attempt: it holds nothing up.
      if (released || !(Date.parse(holder.expiresAt) > now.getTime())) continue;
      return { kind: 'busy', holder };
    }
    throw new Error(`upload ${this.uploadId} has over ${MAX_ATTEMPTS} claims; refusing to make more`);
  }

  async release(claim: ClaimRecord, reason: string): Promise<void> {
    await this.store.put(
      this.key(`released-${claim.attempt}.json`),
      JSON.stringify({ uploadId: this.uploadId, attempt: claim.attempt, requestId: claim.requestId, reason }),
      { contentType: 'application/json', forbidOverwrite: true },
    );
  }

  /** Written just before CreateLayerVersion, so a taker-over knows which versions may be this upload's. */
  async recordIntent(claim: ClaimRecord, newestVersionBefore: number): Promise<void> {
    await this.store.put(
      this.key(`intent-${claim.attempt}.json`),
      JSON.stringify({ uploadId: this.uploadId, attempt: claim.attempt, requestId: claim.requestId, newestVersionBefore }),
      { contentType: 'application/json', forbidOverwrite: true },
    );
  }

  /** The newest version before attempt `attempt` called CreateLayerVersion, if it got that far. */
  async intentOf(attempt: number): Promise<number | undefined> {
    const intent = await this.readJson<{ newestVersionBefore?: unknown }>(this.key(`intent-${attempt}.json`));
    const version = intent?.newestVersionBefore;
    return typeof version === 'number' ? version : undefined;
  }

  /**
   * The lowest "newest version before" among earlier attempts that got as far as creating, or
   * undefined when none did (then no existing version can be this upload's).
   */
  async earliestIntent(beforeAttempt: number): Promise<number | undefined> {
    let earliest: number | undefined;
    for (let attempt = 1; attempt < beforeAttempt; attempt++) {
      const version = await this.intentOf(attempt);
      if (version !== undefined && (earliest === undefined || version < earliest)) earliest = version;
    }
    return earliest;
  }

  /** Records the final result once; if another attempt got there first, its result stands. */
  async settle(result: PublishResult): Promise<PublishResult> {
    const created = await this.store.put(this.key('outcome.json'), JSON.stringify(result, null, 2), {
      contentType: 'application/json',
      forbidOverwrite: true,
    });
    if (created === 'created') return result;
    return (await this.outcome()) ?? result;
  }

  private async readJson<T>(key: string): Promise<T | undefined> {
    const read = await this.store.read(key, MAX_MARKER_BYTES);
    if (read === undefined || 'tooLarge' in read) return undefined;
    try {
      return JSON.parse(read.body.toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }
}
