import {
  type AliasInput,
  LATEST,
  RESOURCE_NAME,
  type StoredAlias,
  type StoredFunctionVersion,
  aliasNotFound,
  aliasView,
  checkWeights,
  invalid,
  parseAliasInput,
  versionNotFound,
  versionView,
} from './fc-function-versions';
import type { LayerVersion } from './fc-layers';
import { ServiceError } from './service';

/** A function that names layer versions, seeded by a test or a local run: the emulator runs no code. */
export interface SeedFunction {
  functionName: string;
  /** The FC 2.0 service the function belongs to (2016-08-15 and 2021-04-06 list by service); `default` when absent. */
  serviceName?: string;
  layers: Array<{ layerName: string; version: number }>;
  /** FC 3.0: publish the seeded configuration as version 1 and point these aliases at it, as a team does before a canary. */
  aliases?: string[];
}

/** A layer version as a function's configuration holds it: FC keeps the reference even when the version is deleted later. */
type FunctionLayer = Pick<LayerVersion, 'layerName' | 'version' | 'arn' | 'arnV2' | 'codesize'>;

export interface StoredFunction {
  serviceName: string;
  functionName: string;
  /** What CreateFunction was given; absent for seeded functions. */
  runtime?: string;
  handler?: string;
  layers: FunctionLayer[];
  /** When CreateFunction or UpdateFunction last changed it; absent for seeded functions. */
  lastModifiedTime?: string;
  /** FC 3.0's published versions, oldest first; absent until the first. */
  versions?: Array<StoredFunctionVersion<FunctionLayer>>;
  /** The last version id handed out: ids are never reused. */
  lastVersionId?: number;
  aliases?: StoredAlias[];
}

/** Keeps functions across restarts, as a LayerStore keeps layers. */
export interface FunctionStore {
  load(): StoredFunction[];
  save(functions: StoredFunction[]): void;
}

export interface FunctionPage<T> {
  items: T[];
  nextToken?: string;
}

/** FC 3.0 functions have no service; the older APIs list them under this one. */
const DEFAULT_SERVICE = 'default';
/** "A function can be configured with a maximum of five layers" (docs/reference/alibaba-cloud.md §11). */
const MAX_FUNCTION_LAYERS = 5;
const LAYER_ARN = /^acs:fc:[^:]+:[^:]+:layers\/([^/]+)\/versions\/(\d+)$/;

/**
 * The account's functions as ListFunctions (and, before FC 3.0, ListServices) describe them, and as
 * FC 3.0's CreateFunction and UpdateFunction set them: only their names, runtime, handler and
 * layers, which is what the publisher reads. Paged by an opaque `nextToken`.
 */
export class FunctionRegistry {
  private readonly functions: StoredFunction[];

  constructor(
    private readonly versionOf: (layerName: string, version: number) => LayerVersion,
    private readonly store?: FunctionStore,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.functions = store?.load() ?? [];
  }

  seed(seed: SeedFunction): void {
    const layers = checkLayerCount(seed.layers.map(({ layerName, version }) => this.layerOf(layerName, version)));
    this.put({ serviceName: seed.serviceName ?? DEFAULT_SERVICE, functionName: seed.functionName, layers });
    if (seed.aliases === undefined) return;
    this.publishVersion(seed.functionName, { description: 'seeded' });
    const versionId = String(this.existing(seed.functionName).lastVersionId);
    for (const aliasName of seed.aliases) this.createAlias(seed.functionName, { aliasName, versionId });
  }

  /** FC 3.0 CreateFunction: `functionName`, `runtime`, and `layers` as `acs:fc:` layer version ARNs. */
  createFc3(body: unknown): object {
    const input = record(body);
    const functionName = requiredString(input, 'functionName');
    if (!RESOURCE_NAME.test(functionName)) {
      throw invalid(`functionName "${functionName}" must start with a letter or _, hold only letters, digits, _ and -, and be at most 128 characters.`);
    }
    if (this.find(functionName) !== undefined) throw new ServiceError(409, 'FunctionAlreadyExists', `function ${functionName} already exists`);
    const created: StoredFunction = {
      serviceName: DEFAULT_SERVICE,
      functionName,
      runtime: requiredString(input, 'runtime'),
      handler: typeof input.handler === 'string' ? input.handler : '',
      layers: this.layersOf(input.layers ?? []),
      lastModifiedTime: this.timestamp(),
    };
    this.put(created);
    return fc3View(created);
  }

  /** FC 3.0 UpdateFunction: replaces the fields given (`layers`, `runtime`, `handler`), keeps the others. */
  updateFc3(functionName: string, body: unknown): object {
    const existing = this.existing(functionName);
    const input = record(body);
    const updated: StoredFunction = {
      ...existing,
      ...(input.runtime === undefined ? {} : { runtime: requiredString(input, 'runtime') }),
      ...(typeof input.handler === 'string' ? { handler: input.handler } : {}),
      ...(input.layers === undefined ? {} : { layers: this.layersOf(input.layers) }),
      lastModifiedTime: this.timestamp(),
    };
    this.put(updated);
    return fc3View(updated);
  }

  /** FC 3.0 GetFunction: the current configuration, or with `qualifier` a version's or an alias's. */
  getFc3(functionName: string, qualifier: string | null): object {
    const existing = this.existing(functionName);
    if (qualifier === null || qualifier === '' || qualifier === LATEST) return fc3View(existing);
    const versionId = /^\d+$/.test(qualifier) ? qualifier : this.alias(existing, qualifier).versionId;
    const version = this.version(existing, versionId);
    // FC 3.0's Function struct has no versionId: the qualifier asked for says which version this is.
    return fc3View({ ...existing, ...version.config, lastModifiedTime: version.createdTime });
  }

  /** PublishFunctionVersion: freezes the current configuration (its layers) under the next version id. */
  publishVersion(functionName: string, body: unknown): object {
    const existing = this.existing(functionName);
    const input = body === undefined ? {} : record(body);
    if (input.description !== undefined && typeof input.description !== 'string') throw invalid('description must be a string.');
    const versionId = (existing.lastVersionId ?? 0) + 1;
    const { runtime, handler, layers } = existing;
    const version: StoredFunctionVersion<FunctionLayer> = {
      versionId: String(versionId),
      description: input.description ?? '',
      createdTime: this.timestamp(),
      config: { runtime, handler, layers },
    };
    this.put({ ...existing, versions: [...(existing.versions ?? []), version], lastVersionId: versionId });
    return versionView(version);
  }

  /** ListFunctionVersions: newest first unless `direction` is FORWARD. */
  listVersions(functionName: string, direction: 'FORWARD' | 'BACKWARD', limit: number, token: string | null): FunctionPage<object> {
    const versions = this.existing(functionName).versions ?? [];
    return page(direction === 'FORWARD' ? versions : [...versions].reverse(), limit, token, versionView);
  }

  createAlias(functionName: string, body: unknown): object {
    const existing = this.existing(functionName);
    const input = parseAliasInput(record(body), true);
    const aliasName = input.aliasName ?? '';
    if ((existing.aliases ?? []).some((alias) => alias.aliasName === aliasName)) {
      throw new ServiceError(409, 'AliasAlreadyExists', `alias ${aliasName} already exists`);
    }
    const time = this.timestamp();
    const created = this.checkedAlias(
      existing,
      { aliasName, versionId: '', additionalVersionWeight: {}, description: '', createdTime: time, lastModifiedTime: time },
      input,
    );
    this.put({ ...existing, aliases: [...(existing.aliases ?? []), created] });
    return aliasView(created);
  }

  /** UpdateAlias: replaces `versionId`, `description` and `additionalVersionWeight` where given. */
  updateAlias(functionName: string, aliasName: string, body: unknown): object {
    const existing = this.existing(functionName);
    const updated = this.checkedAlias(
      existing,
      { ...this.alias(existing, aliasName), lastModifiedTime: this.timestamp() },
      parseAliasInput(record(body), false),
    );
    this.put({ ...existing, aliases: (existing.aliases ?? []).map((alias) => (alias.aliasName === aliasName ? updated : alias)) });
    return aliasView(updated);
  }

  getAlias(functionName: string, aliasName: string): object {
    return aliasView(this.alias(this.existing(functionName), aliasName));
  }

  listAliases(functionName: string, prefix: string, limit: number, token: string | null): FunctionPage<object> {
    const aliases = (this.existing(functionName).aliases ?? []).filter((alias) => alias.aliasName.startsWith(prefix));
    return page(aliases, limit, token, aliasView);
  }

  /** FC 3.0: every function, its layers as `{arn, size}` with the `acs:fc:` ARN. */
  listFc3(limit: number, token: string | null): FunctionPage<object> {
    return page(this.functions, limit, token, fc3View);
  }

  listServices(limit: number, token: string | null): FunctionPage<object> {
    const names = [...new Set(this.functions.map((f) => f.serviceName))];
    return page(names, limit, token, (serviceName) => ({ serviceName }));
  }

  /** 2016-08-15 and 2021-04-06: a service's functions, their layers as legacy ARNs and as `layersArnV2`. */
  listOfService(serviceName: string, limit: number, token: string | null): FunctionPage<object> {
    const inService = this.functions.filter((f) => f.serviceName === serviceName);
    if (inService.length === 0) throw new ServiceError(404, 'ServiceNotFound', `service ${serviceName} does not exist`);
    return page(inService, limit, token, (f) => ({
      functionName: f.functionName,
      layers: f.layers.map((layer) => layer.arn),
      layersArnV2: f.layers.map((layer) => layer.arnV2),
    }));
  }

  private existing(functionName: string): StoredFunction {
    const existing = this.find(functionName);
    if (existing === undefined) throw new ServiceError(404, 'FunctionNotFound', `function ${functionName} does not exist`);
    return existing;
  }

  private version(existing: StoredFunction, versionId: string): StoredFunctionVersion<FunctionLayer> {
    const found = existing.versions?.find((version) => version.versionId === versionId);
    if (found === undefined) throw versionNotFound(versionId);
    return found;
  }

  private alias(existing: StoredFunction, aliasName: string): StoredAlias {
    const found = existing.aliases?.find((alias) => alias.aliasName === aliasName);
    if (found === undefined) throw aliasNotFound(aliasName);
    return found;
  }

  /** The alias with the input's fields in place, its versions published and its weights valid. */
  private checkedAlias(existing: StoredFunction, alias: StoredAlias, input: AliasInput): StoredAlias {
    const changed: StoredAlias = {
      ...alias,
      ...(input.versionId === undefined ? {} : { versionId: input.versionId }),
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.additionalVersionWeight === undefined ? {} : { additionalVersionWeight: input.additionalVersionWeight }),
    };
    this.version(existing, changed.versionId);
    checkWeights(
      changed.versionId,
      changed.additionalVersionWeight,
      (versionId) => existing.versions?.some((version) => version.versionId === versionId) ?? false,
    );
    return changed;
  }

  /** FC 3.0's times: ISO 8601 in UTC, to the second. */
  private timestamp(): string {
    return `${this.now().toISOString().slice(0, 19)}Z`;
  }

  private find(functionName: string): StoredFunction | undefined {
    return this.functions.find((f) => f.serviceName === DEFAULT_SERVICE && f.functionName === functionName);
  }

  private put(stored: StoredFunction): void {
    const existing = this.functions.findIndex((f) => f.serviceName === stored.serviceName && f.functionName === stored.functionName);
    if (existing === -1) this.functions.push(stored);
    else this.functions[existing] = stored;
    this.store?.save(this.functions);
  }

  private layersOf(value: unknown): FunctionLayer[] {
    if (!Array.isArray(value) || !value.every((arn): arn is string => typeof arn === 'string')) throw invalid('layers must be an array of layer version ARNs.');
    checkLayerCount(value);
    return value.map((arn) => {
      const match = LAYER_ARN.exec(arn);
      if (match === null) throw invalid(`layers: ${arn} is not a layer version ARN (acs:fc:<region>:<account>:layers/<name>/versions/<version>).`);
      return this.layerOf(match[1] ?? '', Number(match[2]));
    });
  }

  private layerOf(layerName: string, version: number): FunctionLayer {
    const { arn, arnV2, codesize } = this.versionOf(layerName, version);
    return { layerName, version, arn, arnV2, codesize };
  }
}

function fc3View(f: StoredFunction): object {
  return {
    functionName: f.functionName,
    runtime: f.runtime ?? '',
    handler: f.handler ?? '',
    layers: f.layers.map((layer) => ({ arn: layer.arnV2, size: layer.codesize })),
    ...(f.lastModifiedTime === undefined ? {} : { lastModifiedTime: f.lastModifiedTime }),
  };
}

/** FC's limit, refused as FC refuses a bad argument; the exact code FC gives past it is not documented. */
function checkLayerCount<T>(layers: T[]): T[] {
  if (layers.length > MAX_FUNCTION_LAYERS) {
    throw invalid(`layers: ${layers.length} given; a function can be configured with at most ${MAX_FUNCTION_LAYERS} layers (custom and public together).`);
  }
  return layers;
}

function record(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

function requiredString(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '') throw invalid(`${name} is required and must be a string.`);
  return value;
}

function page<T>(all: readonly T[], limit: number, token: string | null, view: (item: T) => object): FunctionPage<object> {
  const start = token === null || token === '' ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0 || start > all.length) throw new ServiceError(400, 'InvalidArgument', 'nextToken is not one this service gave.');
  const items = all.slice(start, start + limit).map(view);
  const next = start + limit;
  return next < all.length ? { items, nextToken: Buffer.from(String(next), 'utf8').toString('base64url') } : { items };
}
