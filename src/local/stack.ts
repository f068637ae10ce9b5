import { join } from 'node:path';
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
import type { PublishResult } from '../publish/result';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from './account';
import { putExampleLayer } from './example';
import { HandlerInvoker, type InvocationOutcome } from './invoker';

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
  onEvent: (event: StackEvent) => void;
}

/** Why an event was delivered: an upload through the endpoint, a file copied into the folder, or found at start. */
export type EventOrigin = 'upload' | 'folder' | 'startup';

export type StackEvent =
  | { kind: 'example'; keys: string[] }
  | { kind: 'invoke'; record: OssEventRecord; origin: EventOrigin }
  | { kind: 'log'; line: string }
  | { kind: 'outcome'; record: OssEventRecord; outcome: InvocationOutcome; ms: number }
  | { kind: 'watch-error'; message: string };

export interface LocalStack {
  ossUrl: string;
  fcUrl: string;
  bucketFolder: string;
  oss: OssEmulator;
  fc: FcEmulator;
  backend: FolderBackend;
  invoker: HandlerInvoker;
  /** Delivers events for files already in the bucket folder that were never handled. */
  scan(): Promise<void>;
  /** Turns files copied into the bucket folder into events from now on. */
  watch(): Promise<void>;
  /** Resolves once every delivered event has been handled (including those delivered meanwhile). */
  idle(): Promise<void>;
  /** Layers whose result in the bucket says `failed`, whenever it was written. */
  failedResults(): Promise<FailedLayer[]>;
  close(): Promise<void>;
}

export interface FailedLayer {
  keys: LayerKeys;
  result: PublishResult;
}

const DEFAULT_SETTLE_MS = 750;

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const account = { accountId: LOCAL_ACCOUNT_ID, region: LOCAL_REGION, credentials: [LOCAL_CREDENTIALS] };
  const backend = createFolderBackend(options.dataDir);
  const firstStart = !(await backend.hasBucket(options.bucket));
  const oss = createOssEmulator({ ...account, backend, buckets: [options.bucket] });
  const fc = createFcEmulator({
    ...account,
    readObject: (bucket, key) => oss.readObject(bucket, key),
    layerStore: jsonFileLayerStore(join(options.dataDir, 'layers.json')),
    functionStore: jsonFileFunctionStore(join(options.dataDir, 'functions.json')),
  });
  const servers: LoopbackServer[] = [];
  try {
    servers.push(await listen(oss.handle, options.ossPort, 'OSS', '--port'));
    servers.push(await listen(fc.handle, options.fcPort, 'Function Compute', '--fc-port'));
  } catch (error) {
    await Promise.all(servers.map((server) => server.close()));
    throw error;
  }
  const [ossServer, fcServer] = servers as [LoopbackServer, LoopbackServer];
  const invoker = await HandlerInvoker.start({
    handlerBundle: options.handlerBundle,
    hostScript: options.hostScript,
    ossEndpoint: ossServer.url,
    fcEndpoint: fcServer.url,
    onLogLine: (line) => options.onEvent({ kind: 'log', line }),
  });
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
    scan: () => stack.scan(),
    watch: () => stack.watch(),
    idle: () => stack.idle(),
    failedResults: () => stack.failedResults(),
    close: async () => {
      await stack.close();
      await invoker.close();
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

/** A port already taken is the usual start-up failure: say which, and the flag that chooses another. */
export class PortInUseError extends Error {
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

  constructor(
    private readonly options: LocalStackOptions,
    private readonly oss: OssEmulator,
    private readonly backend: FolderBackend,
    private readonly invoker: HandlerInvoker,
  ) {}

  /** Only zips and manifests reach the handler: results and audit records would be ignored there anyway. */
  deliver(record: OssEventRecord, origin: EventOrigin): void {
    if (classifyKey(record.oss.object.key, this.auditPrefix) === undefined) return;
    this.pending += 1;
    this.invocations = this.invocations.then(async () => {
      this.options.onEvent({ kind: 'invoke', record, origin });
      const startedAt = Date.now();
      const outcome = await this.invoker.invoke(record).catch(
        (error: unknown): InvocationOutcome => ({ kind: 'rejected', requestId: '', message: String(error), peakRssBytes: 0 }),
      );
      this.pending -= 1;
      this.options.onEvent({ kind: 'outcome', record, outcome, ms: Date.now() - startedAt });
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
    const failed: FailedLayer[] = [];
    for (const key of await this.backend.fileKeys(this.options.bucket)) {
      if (!key.endsWith(RESULT_SUFFIX) || key.startsWith(this.auditPrefix)) continue;
      const result = await this.readResult(key);
      if (result?.status === 'failed') failed.push({ keys: layerKeysOf(key), result });
    }
    return failed;
  }

  async close(): Promise<void> {
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
    const object = await this.backend.get(this.options.bucket, key);
    if (object === undefined) return undefined;
    const chunks: Uint8Array[] = [];
    for await (const chunk of object.read(0, object.size)) chunks.push(chunk);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as PublishResult;
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
