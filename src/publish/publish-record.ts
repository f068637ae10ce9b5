import { provenanceOf, withOtherUploader, type Uploader } from '../audit/provenance';
import { writeAuditRecord } from '../audit/records';
import { UploadLedger, uploadIdOf, type ClaimRecord } from '../audit/ledger';
import type { AllowRule } from '../config';
import {
  CodeChecksumMismatchError,
  InvalidInputError,
  PreconditionFailedError,
  PublisherError,
  TransientError,
} from '../errors';
import type { LayerApi, LayerVersion } from '../fc/layers';
import type { KeyRole, LayerKeys } from '../keys';
import type { Logger } from '../log/logger';
import { MAX_MANIFEST_BYTES, manifestTooLarge, parseManifest, type Manifest } from '../manifest/manifest';
import type { ObjectHead, ObjectStore } from '../oss/store';
import { sameEtag } from '../oss/store';
import { checkLayout } from '../zip';
import { Deadline, sleep, withRetry, type RetryPolicy } from './deadline';
import type { PublishResult, SourceInfo, SummaryEntry } from './result';
import { summaryOf } from './result';
import { checkAllowed, checkZipSize } from './checks';
import { findExistingVersion } from './existing-version';
import { readAndVerifyZip, type VerifiedZip } from './verify-zip';
import { applyAcl } from './acl';
import { retainVersions } from './retention';

export interface RecordInput {
  role: KeyRole;
  keys: LayerKeys;
  eventKey: string;
  eventName: string;
  eventTime: string | undefined;
  eventETag: string;
  eventRequestId: string | undefined;
  /** Who uploaded the event's object, as its event says (provenance). */
  uploader?: Uploader | undefined;
}

export interface PublishDeps {
  store: ObjectStore;
  /** Built on first use: a record that never reaches FC needs no account id. */
  layers: () => LayerApi;
  auditPrefix: string;
  maxZipBytes: number;
  /** Concurrent ranged GETs per zip read (READ_CONCURRENCY). */
  readConcurrency: number;
  allowedLayers: AllowRule[];
  /** RETAIN_VERSIONS: retention for manifests without `retain`. */
  retainVersions?: number | undefined;
  logger: Logger;
  deadline: Deadline;
  retry: RetryPolicy;
  /** When this invocation will surely be over; a claim expires then. */
  invocationEndsAt: Date;
  requestId: string;
  now?: () => Date;
}

/** How often a delivery that found the upload claimed by another looks for its outcome. */
const BUSY_POLL_MS = 1_000;
/** An object missing right after its own ObjectCreated event is looked for again this often. */
const MISSING_OBJECT_RETRIES_MS = [250, 750];

/**
 * What one event record does (CONTRACT §5), as plain steps over the storage and layer interfaces.
 * Returns the summary entry; throws only when no result could be written (the handler then rejects).
 */
export async function publishRecord(input: RecordInput, deps: PublishDeps): Promise<SummaryEntry> {
  const flow = new RecordFlow(input, deps);
  return flow.run();
}

/** A record whose event fields are malformed still gets a result that says which field. */
export async function reportInvalidRecord(input: RecordInput, deps: PublishDeps, error: InvalidInputError): Promise<SummaryEntry> {
  return new RecordFlow(input, deps).fail(error, undefined);
}

class RecordFlow {
  private readonly log: Logger;
  private readonly startedAt: Date;
  private readonly source: SourceInfo;
  private manifestInfo: { key: string; etag?: string } | undefined;
  private layerName: string | undefined;
  private verified: VerifiedZip | undefined;

  constructor(
    private readonly input: RecordInput,
    private readonly deps: PublishDeps,
  ) {
    this.log = deps.logger.child({ key: input.eventKey, bucket: deps.store.bucket });
    this.startedAt = this.now();
    this.source = { bucket: deps.store.bucket, key: input.keys.zip };
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async run(): Promise<SummaryEntry> {
    let claim: { ledger: UploadLedger; record: ClaimRecord } | undefined;
    try {
      let pair = await this.findPair();
      if (pair === 'stale') return this.stale();
      if (pair.kind === 'waiting') {
        const waiting = await this.finish({ status: 'waiting' }, undefined);
        // The missing object may have landed, and its own event finished, while this one looked
        // and wrote: look once more, so `waiting` cannot be the last word over a finished pair.
        pair = await this.findPair();
        if (pair === 'stale' || pair.kind === 'waiting') return waiting;
        this.log.info('pair.completed');
      }
      const { zip, manifestBody, manifestHead } = pair;
      const manifest = this.validateManifest(manifestBody);
      checkAllowed(manifest.layerName, this.input.keys.zip, this.deps.allowedLayers);
      checkZipSize(zip.size, this.input.keys.zip, this.deps.maxZipBytes);

      const uploadId = uploadIdOf({
        bucket: this.deps.store.bucket,
        zipKey: this.input.keys.zip,
        zip,
        manifestKey: this.input.keys.manifest,
        manifest: manifestHead,
      });
      const ledger = new UploadLedger(this.deps.store, this.deps.auditPrefix, uploadId);
      const claimed = await this.claim(ledger, zip, manifest);
      if (claimed.kind === 'done') return this.repeatOutcome(claimed.outcome);
      claim = { ledger, record: claimed.claim };

      const result = await applyAcl(await this.publish(zip, manifest, ledger, claimed.claim), manifest.public, { layers: this.deps.layers, retrying: (step, op) => this.retrying(step, op), log: this.log });
      const settled = await this.retrying('settle', () => ledger.settle(result));
      claim = undefined;
      const entry = await this.writeResult(settled, uploadId);
      await retainVersions(settled, manifest.retain ?? this.deps.retainVersions, this.retentionDeps());
      return entry;
    } catch (error) {
      return await this.fail(error, claim);
    }
  }

  // Step 1 and 3: the pair, and whether this event still describes the current objects.
  private async findPair(): Promise<
    | 'stale'
    | { kind: 'waiting' }
    | { kind: 'pair'; zip: ObjectHead; manifestBody: Buffer; manifestHead: ObjectHead }
  > {
    const { keys, role } = this.input;
    const zip = await this.lookUp(role === 'zip', () => this.deps.store.head(keys.zip));
    if (zip !== undefined) Object.assign(this.source, { etag: zip.etag, size: zip.size });
    if (role === 'zip' && zip !== undefined && !sameEtag(zip.etag, this.input.eventETag)) return 'stale';
    const manifest = await this.lookUp(role === 'manifest', () =>
      this.deps.store.read(keys.manifest, MAX_MANIFEST_BYTES),
    );
    if (manifest !== undefined && !('tooLarge' in manifest)) {
      this.manifestInfo = { key: keys.manifest, etag: manifest.head.etag };
      if (role === 'manifest' && !sameEtag(manifest.head.etag, this.input.eventETag)) return 'stale';
    }
    if (zip === undefined || manifest === undefined) {
      this.log.info('pair.waiting', { zipFound: zip !== undefined, manifestFound: manifest !== undefined });
      // Name the layer in the waiting result when the manifest can say it; its errors wait for the zip.
      if (manifest !== undefined && !('tooLarge' in manifest)) {
        try {
          this.validateManifest(manifest.body);
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
  private async lookUp<T>(isEventObject: boolean, read: () => Promise<T | undefined>): Promise<T | undefined> {
    const delays = isEventObject ? MISSING_OBJECT_RETRIES_MS : [];
    for (let attempt = 0; ; attempt++) {
      const found = await this.retrying('lookup', read);
      const delay = delays[attempt];
      if (found !== undefined || delay === undefined) return found;
      await sleep(delay);
    }
  }

  // Step 2.
  private validateManifest(body: Buffer): Manifest {
    const manifest = parseManifest(body, this.input.keys.manifest);
    this.layerName = manifest.layerName;
    return manifest;
  }

  /**
   * Claims the upload, or waits for whoever holds it, within this invocation's time. A holder that
   * got as far as creating may have died right after: its version is adopted at once (CONTRACT §7).
   */
  private async claim(ledger: UploadLedger, zip: ObjectHead, manifest: Manifest) {
    for (;;) {
      const outcome = await this.retrying('claim', () =>
        ledger.claim(this.deps.requestId, this.now(), this.deps.invocationEndsAt),
      );
      if (outcome.kind !== 'busy') return outcome;
      const adopted = await this.adoptFromHolder(ledger, outcome.holder, zip, manifest);
      if (adopted) return { kind: 'done' as const, outcome: await this.retrying('settle', () => ledger.settle(adopted)) };
      const waitUntil = Math.min(Date.parse(outcome.holder.expiresAt), this.deps.deadline.epochMs);
      this.log.info('claim.busy', { holder: outcome.holder.requestId, attempt: outcome.holder.attempt, expiresAt: outcome.holder.expiresAt });
      if (this.deps.deadline.remainingMs() < BUSY_POLL_MS * 2 || waitUntil <= this.now().getTime()) {
        // Not a result: the holder will write it. Rejecting has Function Compute deliver this again.
        throw new BusyError(
          `another delivery (request ${outcome.holder.requestId}) is publishing this upload until ${outcome.holder.expiresAt}`,
        );
      }
      await sleep(BUSY_POLL_MS);
    }
  }

  /**
   * A version newer than the holder's intent whose codeChecksum is this zip's CRC (as OSS reports
   * it, or as read once when OSS has none), with this description and these runtimes, is the holder's.
   */
  private async adoptFromHolder(
    ledger: UploadLedger,
    holder: ClaimRecord,
    zip: ObjectHead,
    manifest: Manifest,
  ): Promise<PublishResult | undefined> {
    const intent = await this.retrying('intents', () => ledger.intentOf(holder.attempt));
    if (intent === undefined) return undefined;
    // OSS has no CRC for copied and legacy objects: then the bytes say what the code is.
    const crc64 = zip.crc64 ?? (await this.verify(zip, manifest)).crc64;
    const existing = await this.findExisting(manifest, crc64, intent);
    if (!('status' in existing) || existing.status !== 'published') return undefined;
    this.source.crc64 = crc64;
    return { ...existing, source: { ...this.source } };
  }

  // Steps 4 to 7.
  private async publish(zip: ObjectHead, manifest: Manifest, ledger: UploadLedger, claim: ClaimRecord): Promise<PublishResult> {
    const verified = await this.verify(zip, manifest);

    const adoptAbove = await this.retrying('intents', () => ledger.earliestIntent(claim.attempt));
    const existing = await this.findExisting(manifest, verified.crc64, adoptAbove);
    if ('status' in existing) return existing;

    await this.retrying('intent', () => ledger.recordIntent(claim, existing.newestVersion));
    const created = await this.create(manifest, verified.crc64, existing.newestVersion);
    if ('status' in created) return created;
    if (created.codeChecksum !== verified.crc64) {
      await this.retrying('delete', () => this.deps.layers().delete(manifest.layerName, created.version));
      throw new CodeChecksumMismatchError(
        `Function Compute reports codeChecksum ${created.codeChecksum || '(none)'} for ${manifest.layerName} version ${created.version}, ` +
          `but the zip read from OSS has CRC-64 ${verified.crc64}; the version was deleted. Upload the zip again`,
        { context: { layerName: manifest.layerName, version: created.version, codeChecksum: created.codeChecksum, crc64: verified.crc64 } },
      );
    }
    this.log.info('layer.created', { layerName: manifest.layerName, version: created.version });
    return this.result({ status: 'published', version: created });
  }

  /** Step 4: the zip read once, its CRC-64 and structure checked, its layout against the runtimes. */
  private async verify(zip: ObjectHead, manifest: Manifest): Promise<VerifiedZip> {
    // Reads are If-Match on one ETag: the bytes cannot differ between two reads in one flow.
    if (this.verified) return this.verified;
    this.log.info('zip.read', { size: zip.size });
    const verified = await this.retrying('zip.read', () => {
      // A stalled body has no timeout of its own: stop reading while there is time to write a result.
      const signal = AbortSignal.timeout(Math.max(0, this.deps.deadline.remainingMs() - this.deps.retry.reserveMs));
      return readAndVerifyZip(this.deps.store, this.input.keys.zip, zip, { concurrency: this.deps.readConcurrency, signal });
    });
    this.source.crc64 = verified.crc64;
    this.log.info('zip.verified', {
      crc64: verified.crc64,
      bytes: verified.bytesRead,
      ms: Math.round(verified.elapsedMs),
      mbPerSecond: Math.round(verified.bytesRead / 1e3 / Math.max(verified.elapsedMs, 1)),
      entries: verified.contents.entryCount,
    });
    checkLayout(verified.contents, manifest.compatibleRuntime);
    this.verified = verified;
    return verified;
  }

  /** Step 5, and adoption (CONTRACT §7): a result when a version already holds this upload. */
  private async findExisting(
    manifest: Manifest,
    crc64: string,
    adoptAbove: number | undefined,
  ): Promise<PublishResult | { newestVersion: number }> {
    const layers = this.deps.layers();
    const list = (from: number) => this.retrying('versions', () => layers.versionsFrom(manifest.layerName, from));
    const existing = await findExistingVersion(list, manifest, crc64, adoptAbove);
    if (existing.kind === 'none') return { newestVersion: existing.newestVersion };
    this.log.info(existing.kind === 'adopt' ? 'layer.adopted' : 'layer.unchanged', {
      layerName: manifest.layerName,
      version: existing.version.version,
    });
    return this.result({ status: existing.kind === 'adopt' ? 'published' : 'unchanged', version: existing.version });
  }

  /** Step 6. A create whose outcome is unknown may have made a version: look before trying again. */
  private async create(manifest: Manifest, crc64: string, newestBefore: number): Promise<LayerVersion | PublishResult> {
    return this.retrying('layer.create', async (attempt) => {
      if (attempt > 1) {
        const existing = await this.findExisting(manifest, crc64, newestBefore);
        if ('status' in existing) return existing;
      }
      return this.deps.layers().create({
        layerName: manifest.layerName,
        ossBucketName: this.deps.store.bucket,
        ossObjectName: this.input.keys.zip,
        description: manifest.description,
        compatibleRuntime: manifest.compatibleRuntime,
        checksum: crc64,
        license: manifest.license,
      });
    });
  }

  private retrying<T>(step: string, operation: (attempt: number) => Promise<T>): Promise<T> {
    return withRetry(operation, this.deps.deadline, this.deps.retry, (error, attempt, delayMs) =>
      this.log.warn(`${step}.retry`, { attempt, delayMs, error }),
    );
  }

  private result(fields: { status: PublishResult['status']; version?: LayerVersion; error?: PublisherError }): PublishResult {
    const { version, error } = fields;
    // Fields in the order of CONTRACT §6, so the file reads as documented.
    const result: PublishResult = {
      status: fields.status,
      ...(this.layerName !== undefined ? { layerName: this.layerName } : {}),
      ...(version ? { version: version.version } : {}),
      ...(version?.arn !== undefined ? { arn: version.arn } : {}),
      source: { ...this.source },
      ...(this.manifestInfo ? { manifest: this.manifestInfo } : {}),
      ...(version ? { layer: version.raw } : {}),
      ...(error ? { error: { code: error.code, message: error.message, retryable: error.retryable } } : {}),
      event: this.eventInfo(),
      provenance: this.provenance(version?.requestId),
      requestId: this.deps.requestId,
      startedAt: this.startedAt.toISOString(),
      finishedAt: this.now().toISOString(),
    };
    return this.deps.logger.redact(result);
  }

  private provenance(fcRequestId: string | undefined) {
    return provenanceOf({ role: this.input.role, uploader: this.input.uploader, functionRequestId: this.deps.requestId, fcRequestId });
  }

  private retentionDeps() {
    const { layers, store, auditPrefix, deadline, retry } = this.deps;
    const retrying = <T>(step: string, op: (attempt: number) => Promise<T>) => this.retrying(step, op);
    return { layers, store, auditPrefix, deadline, reserveMs: retry.reserveMs, retrying, log: this.log, now: () => this.now(), resultKey: this.input.keys.result };
  }

  private eventInfo(): PublishResult['event'] {
    const { eventName, eventTime, eventRequestId, eventKey } = this.input;
    return { name: eventName, time: eventTime, requestId: eventRequestId, key: eventKey };
  }

  private async finish(fields: Parameters<RecordFlow['result']>[0], uploadId: string | undefined): Promise<SummaryEntry> {
    return this.writeResult(this.result(fields), uploadId);
  }

  /** Step 8: the result beside the zip, then the audit record. */
  private async writeResult(described: PublishResult, uploadId: string | undefined): Promise<SummaryEntry> {
    const result = await withOtherUploader(this.deps.store, this.input.keys.result, this.input.role, described);
    // A newer upload may have replaced the zip or manifest while this one ran: its own event writes
    // the result, and this one must not land over it (CONTRACT §6). The audit trail keeps it.
    const superseded = result.status !== 'waiting' && (await this.superseded());
    if (!superseded) {
      await this.retrying('result.write', () =>
        this.deps.store.put(this.input.keys.result, `${JSON.stringify(result, null, 2)}\n`, {
          contentType: 'application/json',
        }),
      );
    }
    const auditKey = await this.retrying('audit.write', () =>
      writeAuditRecord(this.deps.store, this.deps.auditPrefix, superseded ? 'superseded' : 'result', {
        ...result,
        ...(uploadId ? { uploadId } : {}),
      }),
    );
    this.log.info(superseded ? 'result.superseded' : 'result.written', {
      status: result.status,
      layerName: result.layerName,
      version: result.version,
      resultKey: this.input.keys.result,
      auditKey,
      errorCode: result.error?.code,
      ms: Date.now() - this.startedAt.getTime(),
    });
    return summaryOf(this.input.eventKey, result);
  }

  /** Whether the zip or the manifest now is another version than the one this flow worked on. */
  private async superseded(): Promise<boolean> {
    const { zip, manifest } = this.input.keys;
    const [zipNow, manifestNow] = await Promise.all([
      this.retrying('recheck', () => this.deps.store.head(zip)),
      this.retrying('recheck', () => this.deps.store.head(manifest)),
    ]);
    const changed = (now: ObjectHead | undefined, seen: string | undefined) =>
      now !== undefined && seen !== undefined && !sameEtag(now.etag, seen);
    return changed(zipNow, this.source.etag) || changed(manifestNow, this.manifestInfo?.etag);
  }

  /** A later delivery of an upload already decided: the same result again, nothing published. */
  private async repeatOutcome(outcome: PublishResult): Promise<SummaryEntry> {
    this.log.info('upload.already-settled', { status: outcome.status, version: outcome.version });
    const result: PublishResult = { ...outcome, event: this.eventInfo() };
    return this.writeResult(result, undefined);
  }

  private async stale(): Promise<SummaryEntry> {
    const current = this.input.role === 'zip' ? this.source.etag : this.manifestInfo?.etag;
    this.log.info('event.stale', { eventETag: this.input.eventETag, currentETag: current });
    const record = {
      status: 'stale',
      event: this.eventInfo(),
      source: { ...this.source },
      eventETag: this.input.eventETag,
      currentETag: current,
      provenance: this.provenance(undefined),
      requestId: this.deps.requestId,
      startedAt: this.startedAt.toISOString(),
      finishedAt: this.now().toISOString(),
    };
    // The audit record is a courtesy: a stale event has nothing to lose if it cannot be written.
    await this.retrying('audit.write', () =>
      writeAuditRecord(this.deps.store, this.deps.auditPrefix, 'stale', record),
    ).catch((error: unknown) => this.log.warn('audit.write.failed', { error }));
    return { key: this.input.eventKey, status: 'stale' };
  }

  async fail(error: unknown, claim: { ledger: UploadLedger; record: ClaimRecord } | undefined): Promise<SummaryEntry> {
    if (error instanceof PreconditionFailedError) {
      // The zip was replaced while we read it: a newer upload, whose own event publishes it.
      if (claim) await claim.ledger.release(claim.record, 'replaced while read').catch(() => undefined);
      return this.stale();
    }
    if (error instanceof BusyError) throw error;
    const failure = error instanceof PublisherError ? error : unexpected(error);
    this.log[failure.retryable ? 'warn' : 'error']('record.failed', { error: failure, context: failure.context });
    const result = this.result({ status: 'failed', error: failure });
    // A failure made no version (a mismatched one is deleted), so the next delivery may try afresh:
    // an operator who fixes a role or a quota can replay the event without uploading again.
    if (claim) {
      await claim.ledger.release(claim.record, this.deps.logger.redact(failure.message)).catch((releaseError: unknown) =>
        this.log.warn('claim.release.failed', { error: releaseError }),
      );
    }
    const entry = await this.writeResult(result, claim?.record.uploadId);
    if (failure.retryable) throw new RetryableRecordError(entry, failure);
    return entry;
  }
}

function unexpected(error: unknown): PublisherError {
  // A bug or an unforeseen SDK failure: say so, and let the platform deliver the event again.
  return new TransientError(`unexpected failure: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

/** Another delivery holds the upload past this invocation's time; the handler rejects so FC retries. */
export class BusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusyError';
  }
}

/** The record's result was written as a retryable failure; the handler must reject (CONTRACT §7). */
export class RetryableRecordError extends Error {
  constructor(
    readonly entry: SummaryEntry,
    readonly failure: PublisherError,
  ) {
    super(failure.message, { cause: failure });
    this.name = 'RetryableRecordError';
  }
}
