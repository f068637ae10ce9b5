import { LayerPublisherError } from '../errors';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { watch, type FSWatcher } from 'chokidar';
import { loadConfig } from '../config';
import {
  type FcEmulator,
  type FolderBackend,
  type LoopbackServer,
  type OssEmulator,
  type OssEventRecord,
  createFcEmulator,
  createFolderBackend,
  createOssEmulator,
  jsonFileFunctionStore,
  jsonFileLayerStore,
  serve,
} from '../emulator';
import { type LayerKeys, RESULT_SUFFIX, classifyKey, layerKeys } from '../keys';
import { type PublishResult, failedRegions } from '../publish/result';
import { type WaitingPair, waitingOf } from '../console/waiting';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION, MAX_ASYNC_RETRY_ATTEMPTS } from '../console/local-account';
import { lockDataFolder } from './data-lock';
import { putExampleLayer } from './example';
import { HandlerInvoker, type InvocationOutcome } from './invoker';
import { type LocalRegionEndpoints, type LocalRegionPlan, REGION_PORT_STEP, regionVariables } from './regions';

export interface LocalStackOptions {
  dataDir: string;
  bucket: string;
  /** 0 picks a free port. */
  ossPort: number;
  fcPort: number;
  handlerBundle: string;
  hostScript: string;
  /** Where the example layer's source and manifest are; none is put in the bucket when absent. */
  examplesDir?: string;
  /** How long a file copied in by hand must stay unchanged before it is taken. */
  settleMs?: number;
  /** Before the first redelivery of a rejected event; doubled before each next one (default 1 s). */
  redeliveryDelayMs?: number;
  /** `--regions`: the other regions, each served by its own OSS and FC; none when absent. */
  regions?: readonly LocalRegionPlan[];
  /** More of the function's variables (`--notify`'s webhook), over the shell's. */
  handlerEnv?: Record<string, string>;
  onEvent: (event: StackEvent) => void;
}

/** Why an event was delivered: an upload through the endpoint, a file copied into the folder, or found at start. */
export type EventOrigin = 'upload' | 'folder' | 'startup';

export type StackEvent =
  | { kind: 'example'; keys: string[] }
  /** `attempt` counts from 1: above 1 is a redelivery of an event whose invocation was rejected. */
  | { kind: 'invoke'; record: OssEventRecord; origin: EventOrigin; attempt: number }
  | { kind: 'log'; line: string }
  /** `redeliveryInMs`: the event is delivered again after that long, as Function Compute does after a rejection. */
  | { kind: 'outcome'; record: OssEventRecord; outcome: InvocationOutcome; ms: number; redeliveryInMs?: number }
  | { kind: 'watch-error'; message: string };

export interface LocalStack {
  ossUrl: string;
  fcUrl: string;
  bucketFolder: string;
  oss: OssEmulator;
  fc: FcEmulator;
  backend: FolderBackend;
  invoker: HandlerInvoker;
  /** The other regions, in the order `--regions` named them. */
  regions: LocalRegion[];
  /** Delivers events for files already in the bucket folder that were never handled. */
  scan(): Promise<void>;
  /** Turns files copied into the bucket folder into events from now on. */
  watch(): Promise<void>;
  /** Resolves once every delivered event has been handled (including those delivered meanwhile). */
  idle(): Promise<void>;
  /** Layers whose result in the bucket says `failed`, in the home region or another, whenever it was written. */
  failedResults(): Promise<FailedLayer[]>;
  /** Pairs whose result says `waiting`: a zip or manifest whose other half never came. */
  waitingResults(): Promise<WaitingPair[]>;
  close(): Promise<void>;
}

/** One other region: its own OSS with the staging bucket, and its own FC reading from that OSS. */
export interface LocalRegion extends LocalRegionEndpoints, LocalServices {
  dataDir: string;
  bucketFolder: string;
}

/** What one region's local cloud is: an OSS over a data folder, and an FC that reads that OSS. */
interface LocalServices {
  oss: OssEmulator;
  fc: FcEmulator;
  backend: FolderBackend;
}

export interface FailedLayer {
  keys: LayerKeys;
  result: PublishResult;
}

const DEFAULT_SETTLE_MS = 750;
const DEFAULT_REDELIVERY_DELAY_MS = 1000;

/** Starts the stack once it holds the data folder (see data-lock.ts); it lets go when closed or when the start fails. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const lock = await lockDataFolder(options.dataDir);
  try {
    const stack = await startOnFolder(options);
    return { ...stack, close: () => stack.close().finally(() => lock.release()) };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function startOnFolder(options: LocalStackOptions): Promise<LocalStack> {
  const backend = createFolderBackend(options.dataDir);
  const firstStart = !(await backend.hasBucket(options.bucket));
  const { oss, fc } = localServices(LOCAL_REGION, options.dataDir, options.bucket, backend);
  const plans = options.regions ?? [];
  const regionServices = plans.map((plan) => localServices(plan.region, plan.dataDir, plan.bucket, createFolderBackend(plan.dataDir)));
  const servers: LoopbackServer[] = [];
  let regions: LocalRegion[];
  let invoker: HandlerInvoker;
  try {
    const ossServer = await listen(oss.handle, options.ossPort, 'OSS', '--port');
    servers.push(ossServer);
    const fcServer = await listen(fc.handle, options.fcPort, 'Function Compute', '--fc-port');
    servers.push(fcServer);
    regions = [];
    for (const [index, plan] of plans.entries()) {
      const services = regionServices[index]!;
      // Derived from --port (see planRegions): that is the flag that moves them.
      const flag = `--port (region ${index + 1} of --regions listens on --port + ${REGION_PORT_STEP * (index + 1)} and the port after)`;
      const regionOss = await listen(services.oss.handle, plan.ossPort, `OSS of ${plan.region}`, flag);
      servers.push(regionOss);
      const regionFc = await listen(services.fc.handle, plan.fcPort, `Function Compute of ${plan.region}`, flag);
      servers.push(regionFc);
      regions.push({
        region: plan.region,
        bucket: plan.bucket,
        dataDir: plan.dataDir,
        ...services,
        bucketFolder: services.backend.bucketFolder(plan.bucket),
        ossUrl: regionOss.url,
        fcUrl: regionFc.url,
      });
    }
    invoker = await HandlerInvoker.start({
      handlerBundle: options.handlerBundle,
      hostScript: options.hostScript,
      env: { ...options.handlerEnv, OSS_ENDPOINT: ossServer.url, FC_ENDPOINT: fcServer.url, ...regionVariables(regions) },
      onLogLine: (line) => options.onEvent({ kind: 'log', line }),
    });
  } catch (error) {
    await Promise.all(servers.map((server) => server.close()));
    throw error;
  }
  const [ossServer, fcServer] = servers as [LoopbackServer, LoopbackServer];
  const stack = new Stack(options, oss, backend, invoker);
  oss.onObjectCreated((record) => stack.deliver(record, 'upload'));
  if (firstStart && options.examplesDir !== undefined) {
    const keys = await putExampleLayer(oss, options.bucket, options.examplesDir);
    options.onEvent({ kind: 'example', keys });
  }
  return {
    ossUrl: ossServer.url,
    fcUrl: fcServer.url,
    bucketFolder: backend.bucketFolder(options.bucket),
    oss,
    fc,
    backend,
    invoker,
    regions,
    scan: () => stack.scan(),
    watch: () => stack.watch(),
    idle: () => stack.idle(),
    failedResults: () => stack.failedResults(),
    waitingResults: () => stack.waitingResults(),
    close: async () => {
      await stack.close();
      await invoker.close();
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

/** One region's OSS serving `bucket` from `dataDir`, and its FC, whose CreateLayerVersion reads that OSS as FC reads its region's. */
function localServices(region: string, dataDir: string, bucket: string, backend: FolderBackend): LocalServices {
  const account = { accountId: LOCAL_ACCOUNT_ID, region, credentials: [LOCAL_CREDENTIALS] };
  const oss = createOssEmulator({ ...account, backend, buckets: [bucket] });
  const fc = createFcEmulator({
    ...account,
    readObject: (name, key) => oss.readObject(name, key),
    layerStore: jsonFileLayerStore(join(dataDir, 'layers.json')),
    functionStore: jsonFileFunctionStore(join(dataDir, 'functions.json')),
  });
  return { oss, fc, backend };
}

/** A port already taken is the usual start-up failure: say which, and the flag that chooses another. */
export class PortInUseError extends LayerPublisherError {
  constructor(
    readonly service: string,
    readonly port: number,
    readonly flag: string,
  ) {
    super(`port ${port} for the local ${service} is already in use (is another npm start running?); choose another with ${flag}`);
    this.name = 'PortInUseError';
  }
}

async function listen(handler: (request: Request) => Promise<Response>, port: number, service: string, flag: string): Promise<LoopbackServer> {
  try {
    return await serve(handler, { port, host: '127.0.0.1' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(service, port, flag);
    throw error;
  }
}

class Stack {
  private readonly auditPrefix = loadConfig(process.env).auditPrefix;
  private invocations: Promise<void> = Promise.resolve();
  private adoptions: Promise<void> = Promise.resolve();
  private pending = 0;
  private watcher: FSWatcher | undefined;
  private closing = false;

  constructor(
    private readonly options: LocalStackOptions,
    private readonly oss: OssEmulator,
    private readonly backend: FolderBackend,
    private readonly invoker: HandlerInvoker,
  ) {}

  /**
   * Only zips and manifests reach the handler: results and audit records would be ignored there
   * anyway. A rejected invocation is delivered again, as Function Compute does for an async
   * invocation (s.yaml's maxAsyncRetryAttempts), so a transient failure resumes locally as in the cloud.
   */
  deliver(record: OssEventRecord, origin: EventOrigin): void {
    if (classifyKey(record.oss.object.key, this.auditPrefix) === undefined) return;
    this.pending += 1;
    this.invocations = this.invocations.then(async () => {
      let delayMs = this.options.redeliveryDelayMs ?? DEFAULT_REDELIVERY_DELAY_MS;
      for (let attempt = 1; ; attempt++) {
        this.options.onEvent({ kind: 'invoke', record, origin, attempt });
        const startedAt = Date.now();
        const outcome = await this.invoker
          .invoke(record)
          .catch((error: unknown): InvocationOutcome => ({ kind: 'rejected', requestId: '', message: String(error), peakRssBytes: 0 }));
        const again = outcome.kind === 'rejected' && attempt <= MAX_ASYNC_RETRY_ATTEMPTS && !this.closing;
        this.options.onEvent({ kind: 'outcome', record, outcome, ms: Date.now() - startedAt, ...(again ? { redeliveryInMs: delayMs } : {}) });
        if (!again) break;
        await sleep(delayMs);
        delayMs *= 2;
      }
      this.pending -= 1;
    });
  }

  /**
   * Files copied in while nothing watched become objects now; each layer with a new file, or with
   * no result yet, gets one event (its zip's when there is one), so a pair is not handled twice.
   */
  async scan(): Promise<void> {
    const { bucket } = this.options;
    const bases = new Map<string, string>();
    for (const key of await this.backend.fileKeys(bucket)) {
      const adopted = await this.adopt(key);
      const classified = classifyKey(key, this.auditPrefix);
      if (classified === undefined) continue;
      const handled = !adopted && (await this.backend.get(bucket, classified.keys.result)) !== undefined;
      if (!handled && (classified.role === 'zip' || !bases.has(classified.keys.base))) bases.set(classified.keys.base, key);
    }
    for (const key of bases.values()) {
      if ((await this.backend.get(bucket, key)) !== undefined) this.deliver(await this.oss.objectCreatedEvent(bucket, key), 'startup');
    }
  }

  async watch(): Promise<void> {
    const settleMs = this.options.settleMs ?? DEFAULT_SETTLE_MS;
    this.watcher = watch(this.backend.bucketFolder(this.options.bucket), {
      ignoreInitial: true,
      // chokidar reports a file only once its size has stopped changing for this long: a copy in progress is not taken.
      awaitWriteFinish: { stabilityThreshold: settleMs, pollInterval: Math.max(25, Math.floor(settleMs / 5)) },
    });
    const onFile = (path: string): void => void this.onFolderFile(path);
    this.watcher.on('add', onFile).on('change', onFile);
    this.watcher.on('error', (error) => this.options.onEvent({ kind: 'watch-error', message: String(error) }));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  async idle(): Promise<void> {
    while (this.pending > 0) await this.invocations;
  }

  async failedResults(): Promise<FailedLayer[]> {
    const failed = (await this.results()).filter(({ result }) => result.status === 'failed' || failedRegions(result).length > 0);
    return failed.map(({ key, result }) => ({ keys: layerKeysOf(key), result }));
  }

  async waitingResults(): Promise<WaitingPair[]> {
    const waiting = (await this.results()).filter(({ result }) => result.status === 'waiting');
    return waiting.map(({ key, result }) => ({ result: key, waiting: waitingOf(result) }));
  }

  /** Every result in the bucket that reads as the handler's JSON. */
  private async results(): Promise<{ key: string; result: PublishResult }[]> {
    const results: { key: string; result: PublishResult }[] = [];
    for (const key of await this.backend.fileKeys(this.options.bucket)) {
      if (!key.endsWith(RESULT_SUFFIX) || key.startsWith(this.auditPrefix)) continue;
      const result = await this.readResult(key);
      if (result !== undefined) results.push({ key, result });
    }
    return results;
  }

  async close(): Promise<void> {
    // Stopping ends the redeliveries: what is under way finishes, nothing is delivered again.
    this.closing = true;
    await this.watcher?.close();
    await this.idle();
  }

  private async onFolderFile(path: string): Promise<void> {
    const key = this.backend.keyOf(this.options.bucket, path);
    // Files written through the endpoint already are objects, and their upload already fired an event.
    if (key === undefined || !(await this.adopt(key))) return;
    this.deliver(await this.oss.objectCreatedEvent(this.options.bucket, key), 'folder');
  }

  private async readResult(key: string): Promise<PublishResult | undefined> {
    const bytes = await this.oss.readObject(this.options.bucket, key);
    if (bytes === undefined) return undefined;
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as PublishResult;
    } catch {
      // Not the handler's JSON (someone edited it by hand): it says nothing about a failure.
      return undefined;
    }
  }

  /** One at a time: two sightings of one file must not both adopt it and fire two events. */
  private adopt(key: string): Promise<boolean> {
    const adopted = this.adoptions.then(async () => (await this.backend.adopt(this.options.bucket, key)) !== undefined);
    this.adoptions = adopted.then(
      () => undefined,
      () => undefined,
    );
    return adopted;
  }
}

function layerKeysOf(resultKey: string): LayerKeys {
  return layerKeys(resultKey.slice(0, -RESULT_SUFFIX.length));
}
