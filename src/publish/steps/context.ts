import { provenanceOf, type Uploader } from '../../audit/provenance';
import type { AllowRule, NotifyConfig, RegionTarget } from '../../config';
import type { PublisherError } from '../../errors';
import type { FunctionsApi } from '../../fc/functions';
import type { LayerApi, LayerVersion } from '../../fc/layers';
import type { KeyRole, LayerKeys } from '../../keys';
import type { Logger } from '../../log/logger';
import type { ObjectStore } from '../../oss/store';
import { withRetry, type Deadline, type RetryPolicy } from '../deadline';
import type { RecordDecision } from '../outcome';
import type { PublishResult, RegionResult, SourceInfo, Waiting } from '../result';
import type { VerifiedZip } from '../verify-zip';

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

/** `REGIONS` and how to reach each: the staging bucket's store and the region's layer API. */
export interface RegionsDeps {
  /** The trigger's region, always published. */
  home: string;
  configured: RegionTarget[];
  connect: (target: RegionTarget) => { store: ObjectStore; layers: () => LayerApi };
}

export interface PublishDeps {
  store: ObjectStore;
  /** Built on first use: a record that never reaches FC needs no account id. */
  layers: () => LayerApi;
  auditPrefix: string;
  maxZipBytes: number;
  /** MAX_UNPACKED_BYTES; unset, its default. */
  maxUnpackedBytes?: number;
  /** Concurrent ranged GETs per zip read (READ_CONCURRENCY). */
  readConcurrency: number;
  /** FC_API_VERSION: which runtimes the manifest may name (docs/contract.md §4). */
  fcApiVersion?: string;
  allowedLayers: AllowRule[];
  /** RETAIN_VERSIONS: retention for manifests without `retain`. */
  retainVersions?: number | undefined;
  /** Set when `REGIONS` is. */
  regions?: RegionsDeps | undefined;
  /** The index and notices that follow a decision (src/follow-ups/after-decision.ts); none when absent. */
  followUps?: FollowUpSettings | undefined;
  /** ROLLOUT_FUNCTIONS and the function API, for the rollout follow-up; absent, no rollout runs. */
  rollout?: RolloutSetup | undefined;
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

export interface FollowUpSettings {
  /** The trigger's region: the one the result's top-level version is in. */
  homeRegion: string;
  indexPrefix: string;
  notify: NotifyConfig;
}

export interface RolloutSetup {
  allowed: AllowRule[];
  homeRegion: () => string;
  /** A region's function API (undefined: the home region), or why a rollout cannot run there. */
  functions: (region: string | undefined) => FunctionsApi | string;
}

/**
 * What the record is known to be about, as far as the flow has looked (the objects' versions, the
 * layer's name), which every result names. Each fact is learnt by one step, which returns it;
 * `learnt` hands the next steps a flow that knows it. What decides the record's end (the regions, a
 * version deleted, a create in doubt) is not here: the steps return it (src/publish/outcome.ts).
 */
export interface RecordFacts {
  readonly source: Readonly<Omit<SourceInfo, 'crc64'>>;
  readonly manifestInfo?: Readonly<{ key: string; etag?: string; license?: string }> | undefined;
  readonly layerName?: string | undefined;
}

/** One record's flow: what every step is given. */
export interface Flow {
  readonly input: RecordInput;
  readonly deps: PublishDeps;
  readonly log: Logger;
  readonly startedAt: Date;
  readonly facts: RecordFacts;
  /** The zip's one verification in this record (its reads are If-Match on one ETag), once begun. */
  readonly zipCheck: ZipCheck;
  /** The whole flow, run again for a newer upload whose result this one may have overwritten. */
  readonly rerun: (input: RecordInput, deps: PublishDeps) => Promise<RecordDecision>;
}

/** How often a delivery that found the upload (or a create) held by another looks again. */
export const BUSY_POLL_MS = 1_000;

export function startFlow(input: RecordInput, deps: PublishDeps, rerun: Flow['rerun']): Flow {
  const flow = { input, deps, rerun, log: deps.logger.child({ key: input.eventKey, bucket: deps.store.bucket }) };
  const facts: RecordFacts = { source: { bucket: deps.store.bucket, key: input.keys.zip } };
  return { ...flow, startedAt: now(flow), facts, zipCheck: new ZipCheck() };
}

/** The flow, knowing what a step learnt besides what was known. */
export function learnt(flow: Flow, more: Partial<RecordFacts>): Flow {
  return { ...flow, facts: { ...flow.facts, ...more } };
}

/**
 * The zip read and verified at most once per record, by whichever step needs it first (the claim's
 * adoption, the create, the regions' copies): a single-assignment value, as a promise is, so every
 * step sees the same read and every result names its CRC-64 from the moment it is known.
 */
export class ZipCheck {
  #reading: Promise<VerifiedZip> | undefined;
  #read: VerifiedZip | undefined;

  /** The verification, begun by `read` on the first call; later calls share it. */
  once(read: () => Promise<VerifiedZip>): Promise<VerifiedZip> {
    this.#reading ??= read().then((verified) => {
      this.#read = verified;
      return verified;
    });
    return this.#reading;
  }

  /** The zip as read, once its read has finished; undefined before. */
  get verified(): VerifiedZip | undefined {
    return this.#read;
  }
}

export function now(flow: Pick<Flow, 'deps'>): Date {
  return flow.deps.now?.() ?? new Date();
}

/** How long this invocation may still act: what a claim made now covers. */
export function ttlMs(flow: Flow): number {
  return Math.max(0, flow.deps.invocationEndsAt.getTime() - now(flow).getTime());
}

/** Whether waiting `ms` still leaves the reserve and as much again for the steps after it. */
export function canWait(flow: Flow, ms: number): boolean {
  return flow.deps.deadline.remainingMs() - ms > 2 * flow.deps.retry.reserveMs;
}

/**
 * `operation` retried on transient failures, each try bounded by the deadline. `final` steps (the
 * result and its audit record) may use the reserve kept for them; everything else stops short of it.
 */
export function retrying<T>(flow: Flow, step: string, operation: (attempt: number) => Promise<T>, final = false): Promise<T> {
  const { deadline } = flow.deps;
  const policy = final ? { ...flow.deps.retry, reserveMs: 0 } : flow.deps.retry;
  return withRetry(
    (attempt) => deadline.within(operation(attempt), policy.reserveMs, step),
    deadline,
    policy,
    (error, attempt, delayMs) => flow.log.warn(`${step}.retry`, { attempt, delayMs, error }),
  );
}

/** `retrying` bound to one flow, as the steps kept in their own modules (ACL, retention) take it. */
export function retryingIn(flow: Flow): <T>(step: string, operation: (attempt: number) => Promise<T>) => Promise<T> {
  return (step, operation) => retrying(flow, step, operation);
}

export type ResultFields = {
  status: PublishResult['status'];
  version?: LayerVersion;
  error?: PublisherError;
  waiting?: Waiting;
  /** With `REGIONS`: each region's entry as far as this flow got. */
  regions?: Record<string, RegionResult> | undefined;
  /** The CRC-64 when it is known without this record's read (OSS's, for a version adopted from another attempt). */
  crc64?: string | undefined;
};

/** The result of this record as far as the flow got. */
export function resultOf(flow: Flow, fields: ResultFields): PublishResult {
  const { version, error, regions } = fields;
  const { facts } = flow;
  const crc64 = fields.crc64 ?? flow.zipCheck.verified?.crc64;
  // Fields in the order of docs/contract.md §6, so the file reads as documented.
  const result: PublishResult = {
    status: fields.status,
    ...(facts.layerName !== undefined ? { layerName: facts.layerName } : {}),
    ...(version ? { version: version.version } : {}),
    ...(version?.arn !== undefined ? { arn: version.arn } : {}),
    source: sourceOf(flow, crc64),
    ...(facts.manifestInfo ? { manifest: { ...facts.manifestInfo } } : {}),
    ...(version ? { layer: version.raw } : {}),
    ...(error ? { error: { code: error.code, message: error.message, retryable: error.retryable } } : {}),
    ...(fields.waiting ? { waiting: fields.waiting } : {}),
    ...(regions ? { regions: { ...regions } } : {}),
    event: eventInfo(flow),
    provenance: provenance(flow, version?.requestId),
    requestId: flow.deps.requestId,
    startedAt: flow.startedAt.toISOString(),
    finishedAt: now(flow).toISOString(),
  };
  return flow.deps.logger.redact(result);
}

/** The zip as the result names it: its version, and its CRC-64 once known. */
export function sourceOf(flow: Flow, crc64 = flow.zipCheck.verified?.crc64): SourceInfo {
  return { ...flow.facts.source, ...(crc64 === undefined ? {} : { crc64 }) };
}

export function provenance(flow: Flow, fcRequestId: string | undefined) {
  return provenanceOf({ role: flow.input.role, uploader: flow.input.uploader, functionRequestId: flow.deps.requestId, fcRequestId });
}

export function eventInfo(flow: Flow): PublishResult['event'] {
  const { eventName, eventTime, eventRequestId, eventKey } = flow.input;
  return { name: eventName, time: eventTime, requestId: eventRequestId, key: eventKey };
}
