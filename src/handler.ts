import { loadConfig, noticeSecrets, type Config, type RegionTarget } from './config';
import { InvalidInputError } from './errors';
import { uploaderOf } from './audit/provenance';
import { BUCKET_NAME, isCountedEvent, parseOssEvent, type ParsedRecord } from './events/oss-event';
import { createFcFunctions, FUNCTIONS_API_VERSION, type FunctionsApi } from './fc/functions';
import { createFcLayers } from './fc/layer-api';
import type { LayerApi } from './fc/layers';
import { MAX_KEY_BYTES, classifyKey, keyOverLimit, unaddressableReason } from './keys';
import { createLogger, withConsoleRouted, type Logger } from './log/logger';
import { createOssStore } from './oss/ali-oss-store';
import type { ObjectStore } from './oss/store';
import { Deadline, retryPolicyFor, type RetryPolicy } from './publish/deadline';
import type { PublishDeps, RecordDecision, RecordInput } from './publish/publish-record';
import type { Summary } from './publish/result';
import { describeInvocation, requireAccountId, requireCredentials, requireRegion, type FcContext, type Invocation } from './invocation';

/**
 * The publishing steps, initialised by the first record that needs them: an event that is ignored or
 * malformed pays only for parsing (dist/index.js defers every module until it is first required,
 * scripts/build.mjs; bench:coldstart prints both).
 */
const publishing = () => import('./publish/publish-record');

/** Each SDK call gets at most this long; the deadline bounds the whole record. */
const SDK_TIMEOUT_MS = 60_000;
/**
 * Kept back from the function's timeout so the last result is written before FC ends the process:
 * 3 s, or a tenth of a shorter function's time.
 */
const SAFETY_MARGIN_MS = 3_000;

export interface HandlerOptions {
  env?: Record<string, string | undefined>;
  /** Where log lines go; stdout in Function Compute. */
  write?: (line: string) => void;
  /** The instance's clock (tests skew it); the ledger itself keeps OSS's time. */
  now?: () => Date;
}

/**
 * The whole of one invocation: parse the event, publish each record in order, and resolve with a
 * summary, or reject when a record must be delivered again (docs/contract.md §7).
 */
export async function handleOssEvent(event: unknown, context: FcContext | undefined, options: HandlerOptions = {}): Promise<Summary> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const bootLogger = createLogger({ requestId: context?.requestId, write: options.write });
  let config: Config;
  try {
    config = loadConfig(options.env ?? process.env);
  } catch (error) {
    bootLogger.error('config.invalid', { error });
    throw error;
  }
  const invocation = describeInvocation(context, config, startedAt);
  const logger = createLogger({
    requestId: invocation.requestId,
    secrets: [invocation.credentials?.accessKeySecret, invocation.credentials?.securityToken, ...noticeSecrets(config.notify)],
    write: options.write,
  });
  return withConsoleRouted(logger, () => runInvocation(event, config, invocation, logger, now));
}

async function runInvocation(event: unknown, config: Config, invocation: Invocation, logger: Logger, now: () => Date): Promise<Summary> {
  const startedAt = now();
  let records: ParsedRecord[];
  try {
    records = parseOssEvent(event);
  } catch (error) {
    logger.error('event.invalid', { error });
    throw error;
  }
  logger.info('invocation.start', { records: records.length });
  const budgetMs = invocation.endsAt.getTime() - startedAt.getTime();
  const deadline = new Deadline(invocation.endsAt.getTime() - Math.min(SAFETY_MARGIN_MS, budgetMs / 10), () => now().getTime());
  const retry = retryPolicyFor(deadline.epochMs - startedAt.getTime());
  const clients = new Clients(config, invocation, deadline);
  const summary: Summary = [];
  const mustRetry: string[] = [];

  for (const parsed of records) {
    const key = parsed.ok ? parsed.record.oss.object.key : (parsed.key ?? null);
    const decided = await handleRecord(parsed, { config, invocation, clients, deadline, retry, logger, now }).catch((error: unknown): RecordDecision => {
      // A record refused before its flow (a key OSS cannot hold, no time left), or a bug.
      logger.error('record.unfinished', { key, error });
      const message = logger.redact(error instanceof Error ? error.message : String(error));
      return { entry: { key, status: 'failed', error: { code: 'Unavailable', message, retryable: true } }, redeliver: message };
    });
    // The rejection's message reaches FC's logs and the on-failure destination: redact it too.
    if (decided.redeliver !== undefined) mustRetry.push(logger.redact(`${key ?? `record ${parsed.index}`}: ${decided.redeliver}`));
    summary.push(decided.entry);
  }

  logger.info('invocation.end', { summary, ms: now().getTime() - startedAt.getTime() });
  if (mustRetry.length > 0) {
    throw new Error(`${mustRetry.length} record(s) must be delivered again: ${mustRetry.join('; ')}`);
  }
  return summary;
}

interface RecordContext {
  config: Config;
  invocation: Invocation;
  clients: Clients;
  deadline: Deadline;
  retry: RetryPolicy;
  logger: Logger;
  now: () => Date;
}

async function handleRecord(parsed: ParsedRecord, ctx: RecordContext): Promise<RecordDecision> {
  const eventName = parsed.ok ? parsed.record.eventName : parsed.eventName;
  const key = parsed.ok ? parsed.record.oss.object.key : parsed.key;
  // Ignoring needs only the name and the key: no request at all (docs/contract.md §3).
  if (eventName !== undefined && !isCountedEvent(eventName)) {
    ctx.logger.info('record.ignored', { key, eventName, reason: 'event name' });
    return { entry: { key: key ?? null, status: 'ignored', reason: `${eventName} does not create a whole object` } };
  }
  const classified = key === undefined ? undefined : classifyKey(key, ctx.config.auditPrefix);
  if (key !== undefined && classified === undefined) {
    ctx.logger.info('record.ignored', { key, eventName, reason: 'key' });
    return { entry: { key, status: 'ignored', reason: 'not a .zip or .layer.json key' } };
  }
  const unwritable = classified && keyOverLimit(classified.keys);
  if (unwritable) {
    // Neither the sibling nor a result can exist in OSS: say so where a person looks, and keep the event.
    throw new Error(
      `${key}: the key ${unwritable.slice(0, 60)}… would be ${Buffer.byteLength(unwritable)} bytes, over OSS's ${MAX_KEY_BYTES}-byte limit; shorten the zip's key`,
    );
  }
  const unaddressable = classified && unaddressableReason(key!);
  if (unaddressable) {
    // Its result would live under the same path: nowhere to write one, so the event is kept for a person.
    ctx.logger.error('record.unaddressable', { key, reason: unaddressable });
    throw new Error(`${key}: refused: ${unaddressable}`);
  }
  // Records that cannot finish in time are not started: they are delivered again (docs/contract.md §7).
  const neededMs = 2 * ctx.retry.reserveMs;
  if (ctx.deadline.remainingMs() < neededMs) {
    throw new Error(
      `not started: ${Math.max(0, Math.round(ctx.deadline.remainingMs()))} ms of the invocation left, a record needs at least ${Math.round(neededMs)} ms`,
    );
  }
  if (!parsed.ok) {
    ctx.logger.error('record.invalid', { key, message: parsed.message });
    if (classified === undefined || key === undefined || parsed.bucket === undefined || !BUCKET_NAME.test(parsed.bucket)) {
      // Nowhere to write a result: rejecting sends the event to the on-failure destination for a person.
      throw new Error(`${parsed.message} (no result can be written for it)`);
    }
    const input: RecordInput = {
      ...classified,
      eventKey: key,
      eventName: eventName ?? '(missing)',
      eventTime: undefined,
      eventETag: '',
      eventRequestId: undefined,
    };
    const error = new InvalidInputError('EventInvalid', parsed.message, { context: { key } });
    return (await publishing()).reportInvalidRecord(input, publishDeps(ctx, parsed.bucket, undefined), error);
  }
  const { record } = parsed;
  const input: RecordInput = {
    role: classified!.role,
    keys: classified!.keys,
    eventKey: record.oss.object.key,
    eventName: record.eventName,
    eventTime: record.eventTime,
    eventETag: record.oss.object.eTag,
    eventRequestId: record.responseElements?.requestId,
    uploader: uploaderOf(record),
  };
  return (await publishing()).publishRecord(input, publishDeps(ctx, record.oss.bucket.name, record.region));
}

function publishDeps(ctx: RecordContext, bucket: string, recordRegion: string | undefined): PublishDeps {
  return {
    store: ctx.clients.store(bucket, recordRegion),
    layers: () => ctx.clients.layers(recordRegion),
    auditPrefix: ctx.config.auditPrefix,
    maxZipBytes: ctx.config.maxZipBytes,
    maxUnpackedBytes: ctx.config.maxUnpackedBytes,
    readConcurrency: ctx.config.readConcurrency,
    fcApiVersion: ctx.config.fcApiVersion,
    allowedLayers: ctx.config.allowedLayers,
    retainVersions: ctx.config.retainVersions,
    regions: regionsDeps(ctx, recordRegion),
    followUps: followUpsOf(ctx, recordRegion),
    rollout: rolloutDeps(ctx, recordRegion),
    logger: ctx.logger,
    deadline: ctx.deadline,
    retry: ctx.retry,
    invocationEndsAt: ctx.invocation.endsAt,
    requestId: ctx.invocation.requestId,
    now: ctx.now,
  };
}

/** The index and notices after each decision; a record naming no region has no index entry to write. */
function followUpsOf(ctx: RecordContext, recordRegion: string | undefined): PublishDeps['followUps'] {
  const homeRegion = recordRegion || ctx.invocation.region;
  return homeRegion ? { homeRegion, indexPrefix: ctx.config.indexPrefix, notify: ctx.config.notify } : undefined;
}

/** `REGIONS`, with the trigger's region as home; each region's clients built on first use. */
function regionsDeps(ctx: RecordContext, recordRegion: string | undefined): PublishDeps['regions'] {
  if (ctx.config.regions.length === 0) return undefined;
  return {
    // The home region is the trigger's: the bucket the zip was dropped into.
    home: recordRegion || requireRegion(ctx.invocation, recordRegion),
    configured: ctx.config.regions,
    connect: (target) => ({ store: ctx.clients.stagingStore(target), layers: () => ctx.clients.regionLayers(target) }),
  };
}

/** ROLLOUT_FUNCTIONS and each region's function API, for the rollout follow-up (docs/rollout.md). */
function rolloutDeps(ctx: RecordContext, recordRegion: string | undefined): PublishDeps['rollout'] {
  const { fcApiVersion, regions, rolloutFunctions } = ctx.config;
  return {
    allowed: rolloutFunctions,
    homeRegion: () => recordRegion || requireRegion(ctx.invocation, recordRegion),
    functions: (region) => {
      // FC 2.0 keeps functions in services, with versions and aliases per service: not what a rollout moves.
      if (fcApiVersion !== FUNCTIONS_API_VERSION) return `rollout needs FC_API_VERSION=${FUNCTIONS_API_VERSION} (FC 3.0 functions); it is ${fcApiVersion}`;
      const target = region === undefined ? undefined : regions.find((candidate) => candidate.region === region);
      return ctx.clients.functions(target, recordRegion);
    },
  };
}

/** One OSS client per bucket and one FC client per region and invocation, built on first use. */
class Clients {
  private readonly stores = new Map<string, ObjectStore>();
  private layerApi: LayerApi | undefined;
  private readonly regionLayerApis = new Map<string, LayerApi>();

  constructor(
    private readonly config: Config,
    private readonly invocation: Invocation,
    private readonly deadline: Deadline,
  ) {}

  /** No single call may outlive the invocation: a hung request would leave no time for the result. */
  private timeoutMs(): number {
    return Math.max(1_000, Math.min(SDK_TIMEOUT_MS, this.deadline.remainingMs()));
  }

  store(bucket: string, recordRegion: string | undefined): ObjectStore {
    let store = this.stores.get(bucket);
    if (!store) {
      store = createOssStore({
        bucket,
        // The record names the bucket's own region, which a V4 signature must name.
        region: recordRegion || requireRegion(this.invocation, recordRegion),
        endpoint: this.config.ossEndpoint,
        signature: this.config.ossSignature,
        credentials: requireCredentials(this.invocation),
        timeoutMs: this.timeoutMs(),
      });
      this.stores.set(bucket, store);
    }
    return store;
  }

  /**
   * Another region's staging bucket. Internal endpoints serve only their own region, so the
   * default is the region's public one (docs/reference/alibaba-cloud.md: OSS endpoints).
   */
  stagingStore(target: RegionTarget): ObjectStore {
    let store = this.stores.get(target.bucket);
    if (!store) {
      store = createOssStore({
        bucket: target.bucket,
        region: target.region,
        endpoint: target.ossEndpoint ?? new URL(`https://oss-${target.region}.aliyuncs.com`),
        signature: this.config.ossSignature,
        credentials: requireCredentials(this.invocation),
        timeoutMs: this.timeoutMs(),
      });
      this.stores.set(target.bucket, store);
    }
    return store;
  }

  regionLayers(target: RegionTarget): LayerApi {
    let api = this.regionLayerApis.get(target.region);
    if (!api) {
      const accountId = requireAccountId(this.invocation);
      api = createFcLayers({
        accountId,
        region: target.region,
        endpoint: target.fcEndpoint ?? new URL(`https://${accountId}.${target.region}.fc.aliyuncs.com`),
        apiVersion: this.config.fcApiVersion,
        credentials: requireCredentials(this.invocation),
        timeoutMs: this.timeoutMs(),
      });
      this.regionLayerApis.set(target.region, api);
    }
    return api;
  }

  /** FC 3.0's function API at home (`target` undefined) or in another region of REGIONS. */
  functions(target: RegionTarget | undefined, recordRegion: string | undefined): FunctionsApi {
    const accountId = requireAccountId(this.invocation);
    return createFcFunctions({
      accountId,
      region: target?.region ?? requireRegion(this.invocation, recordRegion),
      endpoint: target === undefined ? this.config.fcEndpoint : (target.fcEndpoint ?? new URL(`https://${accountId}.${target.region}.fc.aliyuncs.com`)),
      credentials: requireCredentials(this.invocation),
      timeoutMs: this.timeoutMs(),
    });
  }

  layers(recordRegion: string | undefined): LayerApi {
    this.layerApi ??= createFcLayers({
      accountId: requireAccountId(this.invocation),
      region: requireRegion(this.invocation, recordRegion),
      endpoint: this.config.fcEndpoint,
      apiVersion: this.config.fcApiVersion,
      credentials: requireCredentials(this.invocation),
      timeoutMs: this.timeoutMs(),
    });
    return this.layerApi;
  }
}
