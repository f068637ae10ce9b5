import { provenanceOf, withOtherUploader, type Uploader } from '../audit/provenance';
import { writeAuditRecord, type AuditKind } from '../audit/records';
import { CreateLog, UploadLedger, uploadIdOf, type ClaimRecord } from '../audit/ledger';
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
  /** FC_API_VERSION: which runtimes the manifest may name (CONTRACT §4). */
  fcApiVersion?: string;
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
  /** How deep in re-establishing a newer upload's result this flow runs (0: the event's own). */
  restoreDepth?: number;
}

/** How often a delivery that found the upload claimed by another looks for its outcome. */
const BUSY_POLL_MS = 1_000;
/** An object missing right after its own ObjectCreated event is looked for again this often. */
const MISSING_OBJECT_RETRIES_MS = [250, 750];
/** Objects that keep being replaced while results are re-established: give up and be delivered again. */
const MAX_RESTORE_DEPTH = 2;

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
  return new RecordFlow(input, deps).reportInvalid(error);
}

interface HeldClaim {
  ledger: UploadLedger;
  record: ClaimRecord;
}

/** What the zip and manifest are now, against the versions this flow worked on. */
type ObjectsNow =
  | { state: 'current' }
  | { state: 'superseded'; zip: ObjectHead | undefined; manifest: ObjectHead | undefined }
  | { state: 'unknown' };

class RecordFlow {
  private readonly log: Logger;
  private readonly startedAt: Date;
  private readonly source: SourceInfo;
  private manifestInfo: { key: string; etag?: string; license?: string } | undefined;
  private layerName: string | undefined;
  private verified: VerifiedZip | undefined;
  /** This flow deleted a version that held another upload's bytes: that upload may have named it. */
  private deletedVersion = false;

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
    let claim: HeldClaim | undefined;
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
      // Outcomes whose version was deleted since are void: the upload is decided again (CONTRACT §7).
      let voidGeneration = 0;
      for (;;) {
        const claimed = await this.claim(ledger, zip, manifest, voidGeneration);
        if (claimed.kind === 'done') {
          if (await this.outcomeStands(claimed.outcome.result)) return await this.repeatOutcome(claimed.outcome.result);
          this.log.warn('outcome.void', { generation: claimed.outcome.generation, version: claimed.outcome.result.version });
          voidGeneration = claimed.outcome.generation;
          continue;
        }
        claim = { ledger, record: claimed.claim };
        const result = await applyAcl(await this.publish(zip, manifest, ledger, claimed.claim), manifest.public, { layers: this.deps.layers, retrying: (step, op) => this.retrying(step, op), log: this.log });
        const settled = await this.retrying('settle', () => ledger.settle(result, voidGeneration + 1));
        await this.releaseClaim(claim, 'settled');
        claim = undefined;
        const entry = await this.writeResult(settled.result, uploadId);
        await retainVersions(settled.result, manifest.retain ?? this.deps.retainVersions, this.retentionDeps());
        return entry;
      }
    } catch (error) {
      return await this.fail(error, claim);
    }
  }

  /** How long this invocation may still act: what a claim made now covers. */
  private ttlMs(): number {
    return Math.max(0, this.deps.invocationEndsAt.getTime() - this.now().getTime());
  }

  /** Whether waiting `ms` still leaves the reserve and as much again for the steps after it. */
  private canWait(ms: number): boolean {
    return this.deps.deadline.remainingMs() - ms > 2 * this.deps.retry.reserveMs;
  }

  private async releaseClaim(claim: HeldClaim, reason: string): Promise<void> {
    await this.retrying('claim.release', () => claim.ledger.release(claim.record, reason)).catch((error: unknown) =>
      this.log.warn('claim.release.failed', { error }),
    );
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
      if (found !== undefined || delay === undefined || !this.canWait(delay)) return found;
      await sleep(delay);
    }
  }

  // Step 2.
  private validateManifest(body: Buffer): Manifest {
    const manifest = parseManifest(body, this.input.keys.manifest, this.deps.fcApiVersion);
    this.layerName = manifest.layerName;
    // Only FC 3.0 keeps a licence with the version; the result records it under every API (CONTRACT §4).
    if (manifest.license !== undefined && this.manifestInfo) this.manifestInfo = { ...this.manifestInfo, license: manifest.license };
    return manifest;
  }

  /**
   * Claims the upload, or waits for whoever holds it, within this invocation's time. A holder that
   * got as far as creating may have died right after: its version is adopted at once (CONTRACT §7).
   */
  private async claim(ledger: UploadLedger, zip: ObjectHead, manifest: Manifest, afterGeneration: number) {
    for (;;) {
      const outcome = await this.retrying('claim', () =>
        ledger.claim(this.deps.requestId, this.now(), this.ttlMs(), afterGeneration),
      );
      if (outcome.kind !== 'busy') return outcome;
      const adopted = await this.adoptFromHolder(ledger, outcome.holder, zip, manifest);
      if (adopted) {
        return { kind: 'done' as const, outcome: await this.retrying('settle', () => ledger.settle(adopted, afterGeneration + 1)) };
      }
      this.log.info('claim.busy', { holder: outcome.holder.requestId, attempt: outcome.holder.attempt, remainingMs: Math.round(outcome.remainingMs) });
      if (!this.canWait(BUSY_POLL_MS)) {
        // Not a result: the holder will write it. Rejecting has Function Compute deliver this again.
        throw new BusyError(
          `another delivery (request ${outcome.holder.requestId}) is publishing this upload for ${Math.ceil(outcome.remainingMs / 1000)} s more`,
        );
      }
      await sleep(Math.min(BUSY_POLL_MS, Math.max(0, outcome.remainingMs)));
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

  /** A recorded outcome stands while the version it names exists with the code it names. */
  private async outcomeStands(outcome: PublishResult): Promise<boolean> {
    const { layerName, version } = outcome;
    if (layerName === undefined || version === undefined) return true;
    const versions = await this.retrying('versions', () => this.deps.layers().versionsFrom(layerName, version));
    const named = versions.find((candidate) => candidate.version === version);
    return named !== undefined && (outcome.source.crc64 === undefined || named.codeChecksum === outcome.source.crc64);
  }

  // Steps 4 to 7.
  private async publish(zip: ObjectHead, manifest: Manifest, ledger: UploadLedger, claim: ClaimRecord): Promise<PublishResult> {
    const verified = await this.verify(zip, manifest);
    const creates = new CreateLog(this.deps.store, this.deps.auditPrefix, this.deps.store.bucket, this.input.keys.zip);
    for (;;) {
      const earliest = await this.retrying('intents', () => ledger.earliestIntent(claim.attempt));
      const existing = await this.findExisting(manifest, verified.crc64, earliest);
      // An earlier attempt's version: this upload's, whatever else is pending.
      if ('status' in existing && existing.status === 'published') return existing;
      // A create of this key without an answer may still land, from this upload or an older one
      // (FC reads the key when it runs it): deciding now could repeat its version. Wait for it to
      // land (then adopted or unchanged) or for its time to pass.
      const pending = await this.retrying('creates', () => creates.inDoubt(this.now()));
      if (pending === undefined) {
        return 'status' in existing ? existing : this.createVersion(manifest, verified.crc64, existing.newestVersion, ledger, claim, creates);
      }
      this.log.info('create.in-doubt', { holder: pending.requestId, attempt: pending.attempt, remainingMs: Math.round(pending.remainingMs) });
      const waitMs = Math.min(BUSY_POLL_MS, pending.remainingMs);
      if (!this.canWait(waitMs)) {
        throw new BusyError(
          `an earlier CreateLayerVersion of ${this.input.keys.zip} (request ${pending.requestId}) had no answer; ` +
            `its version may still appear for ${Math.ceil(pending.remainingMs / 1000)} s`,
        );
      }
      await sleep(waitMs);
    }
  }

  /** Steps 6 and 7 under this attempt's intent. */
  private async createVersion(
    manifest: Manifest,
    crc64: string,
    newestBefore: number,
    ledger: UploadLedger,
    claim: ClaimRecord,
    creates: CreateLog,
  ): Promise<PublishResult> {
    await this.retrying('intent', () => ledger.recordIntent(claim, newestBefore));
    await this.retrying('intent', () => creates.record(claim));
    let created: LayerVersion | PublishResult;
    try {
      created = await this.create(manifest, crc64, newestBefore);
    } catch (error) {
      if (!(error instanceof CreateInDoubtError)) throw error;
      created = await this.awaitLanding(manifest, crc64, newestBefore, error);
    }
    if ('status' in created) return created;
    if (created.codeChecksum !== crc64) {
      // FC read other bytes than ours: the zip was replaced after we read it. A newer upload may
      // have taken this version as `unchanged` meanwhile; once it is gone, that upload's result is
      // written again (writeResult), so no result names it (CONTRACT §7).
      await this.retrying('delete', () => this.deps.layers().delete(manifest.layerName, created.version));
      this.deletedVersion = true;
      throw new CodeChecksumMismatchError(
        `Function Compute reports codeChecksum ${created.codeChecksum || '(none)'} for ${manifest.layerName} version ${created.version}, ` +
          `but the zip read from OSS has CRC-64 ${crc64}; the version was deleted. Upload the zip again`,
        { context: { layerName: manifest.layerName, version: created.version, codeChecksum: created.codeChecksum, crc64 } },
      );
    }
    this.log.info('layer.created', { layerName: manifest.layerName, version: created.version });
    return this.result({ status: 'published', version: created });
  }

  /** A create without an answer: its version, if FC makes one, is adopted; no second create. */
  private async awaitLanding(manifest: Manifest, crc64: string, newestBefore: number, unknown: CreateInDoubtError): Promise<PublishResult> {
    while (this.canWait(BUSY_POLL_MS)) {
      await sleep(BUSY_POLL_MS);
      const existing = await this.findExisting(manifest, crc64, newestBefore);
      if ('status' in existing) return existing;
    }
    throw unknown;
  }

  /** Step 4: the zip read once, its CRC-64 and structure checked, its layout against the runtimes. */
  private async verify(zip: ObjectHead, manifest: Manifest): Promise<VerifiedZip> {
    // Reads are If-Match on one ETag: the bytes cannot differ between two reads in one flow.
    if (this.verified) return this.verified;
    this.log.info('zip.read', { size: zip.size });
    const verified = await this.retrying('zip.read', () => {
      // A stalled body has no timeout of its own: stop reading while there is time to write a result.
      const signal = AbortSignal.timeout(Math.max(0, Math.floor(this.deps.deadline.remainingMs() - this.deps.retry.reserveMs)));
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

  /**
   * Step 6. A create that FC answered with a transient error left nothing half done: the versions
   * are listed, and it is tried again. One without an answer may still make a version at any
   * moment, so it is never tried again here (CONTRACT §7).
   */
  private async create(manifest: Manifest, crc64: string, newestBefore: number): Promise<LayerVersion | PublishResult> {
    const { deadline, retry } = this.deps;
    return withRetry(
      async (attempt) => {
        if (attempt > 1) {
          const existing = await this.findExisting(manifest, crc64, newestBefore);
          if ('status' in existing) return existing;
        }
        const request = this.deps.layers().create({
          layerName: manifest.layerName,
          ossBucketName: this.deps.store.bucket,
          ossObjectName: this.input.keys.zip,
          description: manifest.description,
          compatibleRuntime: manifest.compatibleRuntime,
          checksum: crc64,
          license: manifest.license,
        });
        try {
          return await deadline.within(request, retry.reserveMs, 'CreateLayerVersion');
        } catch (error) {
          if (error instanceof TransientError && typeof error.context.status !== 'number') {
            throw new CreateInDoubtError(`CreateLayerVersion for ${manifest.layerName} got no answer: ${error.message}`, { cause: error });
          }
          throw error;
        }
      },
      deadline,
      retry,
      (error, attempt, delayMs) => this.log.warn('layer.create.retry', { attempt, delayMs, error }),
    );
  }

  /**
   * `operation` retried on transient failures, each try bounded by the deadline. `final` steps (the
   * result and its audit record) may use the reserve kept for them; everything else stops short of it.
   */
  private retrying<T>(step: string, operation: (attempt: number) => Promise<T>, final = false): Promise<T> {
    const { deadline } = this.deps;
    const policy = final ? { ...this.deps.retry, reserveMs: 0 } : this.deps.retry;
    return withRetry(
      (attempt) => deadline.within(operation(attempt), policy.reserveMs, step),
      deadline,
      policy,
      (error, attempt, delayMs) => this.log.warn(`${step}.retry`, { attempt, delayMs, error }),
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

  /**
   * Step 8: the result beside the zip, then the audit record. A newer upload may replace the zip or
   * manifest at any moment: its own event writes its result, and this one must not have the last
   * word over it (CONTRACT §6, §7). So the objects are looked at before every try of the PUT, and
   * after it: a PUT that landed after the newer result is followed by that result again.
   */
  private async writeResult(described: PublishResult, uploadId: string | undefined): Promise<SummaryEntry> {
    const result = await withOtherUploader(this.deps.store, this.input.keys.result, this.input.role, described);
    // `waiting` names no object version; the flow looks again after writing it instead.
    const checked = result.status !== 'waiting';
    let kind: AuditKind = 'result';
    const before = checked ? await this.objectsNow() : ({ state: 'current' } as const);
    if (before.state === 'superseded') {
      kind = 'superseded';
      if (this.deletedVersion) await this.restoreCurrent(before);
    } else if (before.state === 'unknown' && !(await this.resultIsOursOrAbsent())) {
      // OSS would not say what the objects are now, and the result there names another upload.
      await this.audit('superseded', result, uploadId);
      throw new ResultUnwritableError(
        `${this.input.keys.result}: not written: OSS did not answer for ${this.input.keys.zip}, and the result there names another upload`,
      );
    } else {
      const written = await this.retrying(
        'result.write',
        async (attempt) => {
          if (checked && attempt > 1) {
            const now = await this.objectsNow();
            // The try that failed may still have landed, over the newer upload's result.
            if (now.state === 'superseded') return now;
          }
          await this.deps.store.put(this.input.keys.result, `${JSON.stringify(result, null, 2)}\n`, { contentType: 'application/json' });
          return 'written';
        },
        true,
      );
      // Superseded before a retry means a PUT was already sent: it, too, may have landed late.
      const after = written !== 'written' ? written : checked ? await this.objectsNow() : undefined;
      if (after?.state === 'superseded') {
        kind = 'superseded';
        this.log.warn('result.overtaken', { resultKey: this.input.keys.result });
        await this.restoreCurrent(after);
      } else if (written === 'written' && !(await this.outcomeStands(result).catch(() => true))) {
        // Its version was deleted while the result was written: the upload is decided again.
        this.log.warn('result.version-gone', { layerName: result.layerName, version: result.version });
        await this.restoreCurrent(undefined);
      }
    }
    const auditKey = await this.audit(kind, result, uploadId);
    this.log.info(kind === 'superseded' ? 'result.superseded' : 'result.written', {
      status: result.status,
      layerName: result.layerName,
      version: result.version,
      resultKey: this.input.keys.result,
      auditKey,
      errorCode: result.error?.code,
      ms: this.now().getTime() - this.startedAt.getTime(),
    });
    return summaryOf(this.input.eventKey, result);
  }

  private audit(kind: AuditKind, result: PublishResult, uploadId: string | undefined): Promise<string> {
    return this.retrying(
      'audit.write',
      () => writeAuditRecord(this.deps.store, this.deps.auditPrefix, kind, { ...result, ...(uploadId ? { uploadId } : {}) }),
      true,
    );
  }

  /** Whether the zip or the manifest now is another version than the one this flow worked on. */
  private async objectsNow(): Promise<ObjectsNow> {
    const { zip, manifest } = this.input.keys;
    try {
      const [zipNow, manifestNow] = await Promise.all([
        this.retrying('recheck', () => this.deps.store.head(zip), true),
        this.retrying('recheck', () => this.deps.store.head(manifest), true),
      ]);
      const changed = (now: ObjectHead | undefined, seen: string | undefined) =>
        now !== undefined && seen !== undefined && !sameEtag(now.etag, seen);
      if (changed(zipNow, this.source.etag) || changed(manifestNow, this.manifestInfo?.etag)) {
        return { state: 'superseded', zip: zipNow, manifest: manifestNow };
      }
      return { state: 'current' };
    } catch (error) {
      if (!(error instanceof PublisherError) || !error.retryable) throw error;
      this.log.warn('recheck.failed', { error });
      return { state: 'unknown' };
    }
  }

  /** With the objects unknown, a result may still be written where none is, or over this upload's own. */
  private async resultIsOursOrAbsent(): Promise<boolean> {
    const there = await this.retrying('result.read', () => this.deps.store.read(this.input.keys.result, MAX_MANIFEST_BYTES), true).catch(
      () => 'unreadable' as const,
    );
    if (there === undefined) return true;
    if (there === 'unreadable' || 'tooLarge' in there) return false;
    try {
      const result = JSON.parse(there.body.toString('utf8')) as Partial<PublishResult>;
      const same = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && sameEtag(a, b);
      return same(result.source?.etag, this.source.etag) && same(result.manifest?.etag, this.manifestInfo?.etag);
    } catch {
      return false;
    }
  }

  /**
   * This flow's result landed after a newer upload replaced the objects, maybe over that upload's
   * result: the newer upload's flow runs here too, and writes its own result again (its outcome, if
   * decided, is repeated; nothing is published twice).
   */
  private async restoreCurrent(now: Extract<ObjectsNow, { state: 'superseded' }> | undefined): Promise<void> {
    const depth = (this.deps.restoreDepth ?? 0) + 1;
    if (depth > MAX_RESTORE_DEPTH) {
      throw new ResultUnwritableError(`${this.input.keys.result}: the zip and manifest keep being replaced while results are written`);
    }
    const { keys, role: ownRole, eventETag } = this.input;
    const role: KeyRole = now === undefined ? ownRole : now.zip ? 'zip' : 'manifest';
    const currentETag = now === undefined ? eventETag : (now.zip ?? now.manifest)!.etag;
    await publishRecord(
      {
        role,
        keys,
        eventKey: role === 'zip' ? keys.zip : keys.manifest,
        eventName: this.input.eventName,
        eventTime: undefined,
        eventETag: currentETag,
        eventRequestId: undefined,
      },
      { ...this.deps, restoreDepth: depth },
    );
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

  async fail(error: unknown, claim: HeldClaim | undefined): Promise<SummaryEntry> {
    if (error instanceof PreconditionFailedError) {
      // The zip was replaced while we read it: a newer upload, whose own event publishes it.
      if (claim) await this.releaseClaim(claim, 'replaced while read');
      return this.stale();
    }
    if (error instanceof BusyError) {
      if (claim) await this.releaseClaim(claim, 'an earlier attempt may still publish');
      throw error;
    }
    if (error instanceof ResultUnwritableError) throw error;
    const failure = error instanceof PublisherError ? error : unexpected(error);
    this.log[failure.retryable ? 'warn' : 'error']('record.failed', { error: failure, context: failure.context });
    const result = this.result({ status: 'failed', error: failure });
    // A failure made no version (a mismatched one is deleted), so the next delivery may try afresh:
    // an operator who fixes a role or a quota can replay the event without uploading again. A create
    // with no answer may still make one: that claim stays, and its intent tells who comes next.
    if (claim && !(failure instanceof CreateInDoubtError)) await this.releaseClaim(claim, this.deps.logger.redact(failure.message));
    const entry = await this.writeResult(result, claim?.record.uploadId);
    if (failure.retryable) throw new RetryableRecordError(entry, failure);
    return entry;
  }

  /**
   * A malformed record still gets a result that says which field, but only where there is none:
   * a replayed record missing its eTag must not turn a published result into a failure.
   */
  async reportInvalid(error: InvalidInputError): Promise<SummaryEntry> {
    this.log.error('record.failed', { error, context: error.context });
    const result = this.result({ status: 'failed', error });
    const written = await this.retrying(
      'result.write',
      () =>
        this.deps.store.put(this.input.keys.result, `${JSON.stringify(result, null, 2)}\n`, {
          contentType: 'application/json',
          forbidOverwrite: true,
        }),
      true,
    );
    const auditKey = await this.audit(written === 'created' ? 'result' : 'invalid', result, undefined);
    this.log.info(written === 'created' ? 'result.written' : 'result.kept', { status: result.status, errorCode: error.code, resultKey: this.input.keys.result, auditKey });
    return summaryOf(this.input.eventKey, result);
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

/** A CreateLayerVersion without an answer: a version may appear at any moment, so none is made again. */
export class CreateInDoubtError extends PublisherError {
  constructor(message: string, options?: { cause?: unknown }) {
    // Not a TransientError: retrying it is exactly what must not happen.
    super('Unavailable', `${message}; a version it made will be adopted by the next delivery`, { ...options, retryable: true });
    this.name = 'CreateInDoubtError';
  }
}

/** No result could be written without risking a newer upload's; the handler rejects so FC delivers again. */
export class ResultUnwritableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResultUnwritableError';
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
