import { Crc64 } from '../checksum/crc64';
import type { Credential } from './auth';
import { FaultInjector } from './faults';
import { LAYER_RUNTIMES, type LayerStore, type LayerVersion, LayerRegistry, checkLayerName } from './fc-layers';
import { verifyFcSignature } from './fc-signature';
import { RequestLog } from './request-log';
import { ServiceError, loggableHeaders, newRequestId, readBody } from './service';

export interface FcEmulatorOptions {
  accountId: string;
  /** e.g. `cn-hangzhou`. */
  region: string;
  credentials: readonly Credential[];
  /** Reads the zip a CreateLayerVersion names in OSS; wire it to the OSS emulator. */
  readObject: (bucket: string, key: string) => Promise<Uint8Array | undefined>;
  /** API path prefixes served; default both the 2021-04-06 and the 2016-08-15 layer API. */
  apiVersions?: readonly string[];
  errorCasing?: ErrorCasing;
  now?: () => Date;
  /** Keeps layers across restarts; in memory when absent. */
  layerStore?: LayerStore;
}

/** `PascalCase` is what FC sends and SDKs model; `camelCase` is the documented wire form (alibaba-cloud.md §3.3). */
export type ErrorCasing = 'PascalCase' | 'camelCase';

export type FcAction = 'CreateLayerVersion' | 'ListLayerVersions' | 'GetLayerVersion' | 'DeleteLayerVersion';

/** A request as faults match it and the log records it. */
export interface FcRequestTarget {
  /** Undefined for a path the emulator does not serve. */
  action: FcAction | undefined;
  method: string;
  /** Decoded path, without the query. */
  path: string;
  layerName?: string;
  version?: number;
}

export interface FcRequestRecord extends FcRequestTarget {
  query: Record<string, string>;
  /** Every request header but those that carry credentials. */
  headers: Record<string, string>;
  /** The parsed JSON body, when there was one. */
  body: unknown;
  status: number;
  /** The FC error code, when the answer was an error. */
  code?: string;
  requestId: string;
}

export interface SeedLayerVersion {
  code: Uint8Array;
  description?: string;
  compatibleRuntime?: string[];
}

export interface FcEmulator {
  /** The fake itself: answers one HTTP request as Function Compute would. */
  handle(request: Request): Promise<Response>;
  /** Creates a version directly (no request), as if published earlier. */
  seedVersion(layerName: string, seed: SeedLayerVersion): LayerVersion;
  /** Every live version of a layer, oldest first. */
  versions(layerName: string): LayerVersion[];
  /** The next CreateLayerVersion reports (and keeps) a codeChecksum that is not the code's CRC-64. */
  reportWrongChecksumOnNextCreate(): void;
  errorCasing: ErrorCasing;
  readonly requests: RequestLog<FcRequestRecord>;
  readonly faults: FaultInjector<FcRequestTarget>;
}

const DEFAULT_API_VERSIONS = ['2021-04-06', '2016-08-15'];
const DEFAULT_LIST_LIMIT = 20;
const MAX_LIST_LIMIT = 100;

interface CreateLayerVersionBody {
  source: { zipFile: string } | { ossBucketName: string; ossObjectName: string };
  description: string;
  compatibleRuntime: string[];
}

export function createFcEmulator(options: FcEmulatorOptions): FcEmulator {
  return new FcService(options);
}

class FcService implements FcEmulator {
  readonly requests = new RequestLog<FcRequestRecord>();
  readonly faults = new FaultInjector<FcRequestTarget>();
  errorCasing: ErrorCasing;
  private readonly registry: LayerRegistry;
  private readonly now: () => Date;
  private readonly apiVersions: readonly string[];
  private corruptNextChecksum = false;

  constructor(private readonly options: FcEmulatorOptions) {
    this.now = options.now ?? (() => new Date());
    this.errorCasing = options.errorCasing ?? 'PascalCase';
    this.apiVersions = options.apiVersions ?? DEFAULT_API_VERSIONS;
    this.registry = new LayerRegistry(options.accountId, options.region, this.now, options.layerStore);
  }

  handle = async (request: Request): Promise<Response> => {
    const requestId = newRequestId();
    const url = new URL(request.url);
    const target = routeOf(request.method, url.pathname, this.apiVersions);
    const bytes = await readBody(request);
    const body = parseJson(bytes);
    let response: Response;
    let code: string | undefined;
    try {
      verifyFcSignature(request, target.path, bytes, { accountId: this.options.accountId, credentials: this.options.credentials, now: this.now() });
      response = await this.faults.apply(target, () => this.dispatch(target, url.searchParams, body));
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      code = error.code;
      response = this.errorResponse(error);
    }
    response.headers.set('x-fc-request-id', requestId);
    response.headers.set('date', this.now().toUTCString());
    const query = Object.fromEntries(url.searchParams);
    this.requests.record({ ...target, query, headers: loggableHeaders(request.headers), body: body.value, status: response.status, code, requestId });
    return response;
  };

  seedVersion(layerName: string, seed: SeedLayerVersion): LayerVersion {
    checkLayerName(layerName);
    return this.registry.create(layerName, {
      description: seed.description ?? '',
      compatibleRuntime: seed.compatibleRuntime ?? ['nodejs20'],
      codeChecksum: new Crc64().update(seed.code).digest(),
      codesize: seed.code.byteLength,
    });
  }

  versions(layerName: string): LayerVersion[] {
    try {
      return this.registry.list(layerName, 1, Number.MAX_SAFE_INTEGER).layers;
    } catch (error) {
      if (error instanceof ServiceError && error.code === 'LayerNotFound') return [];
      throw error;
    }
  }

  reportWrongChecksumOnNextCreate(): void {
    this.corruptNextChecksum = true;
  }

  private async dispatch(target: FcRequestTarget, query: URLSearchParams, body: ParsedJson): Promise<Response> {
    const { action, layerName = '' } = target;
    switch (action) {
      case 'CreateLayerVersion':
        return json(await this.createLayerVersion(layerName, body));
      case 'ListLayerVersions':
        return json(this.registry.list(layerName, integerParameter(query, 'startVersion', 1, Number.MAX_SAFE_INTEGER) ?? 1, integerParameter(query, 'limit', 1, MAX_LIST_LIMIT) ?? DEFAULT_LIST_LIMIT));
      case 'GetLayerVersion':
        return json(this.registry.get(layerName, positiveVersion(target.version)));
      case 'DeleteLayerVersion':
        this.registry.delete(layerName, positiveVersion(target.version));
        return new Response(null, { status: 204 });
      case undefined:
        throw new ServiceError(400, 'PathNotSupported', `The path ${target.method} ${target.path} is not supported.`);
    }
  }

  private async createLayerVersion(layerName: string, body: ParsedJson): Promise<LayerVersion> {
    checkLayerName(layerName);
    if (body.malformed) throw new ServiceError(400, 'InvalidArgument', 'The request body is not valid JSON.');
    const request = parseCreateBody(body.value);
    const code = await this.codeOf(request.source);
    const checksum = new Crc64().update(code).digest();
    const reported = this.corruptNextChecksum ? (BigInt(checksum) ^ 1n).toString() : checksum;
    this.corruptNextChecksum = false;
    return this.registry.create(layerName, {
      description: request.description,
      compatibleRuntime: request.compatibleRuntime,
      codeChecksum: reported,
      codesize: code.byteLength,
    });
  }

  /** zipFile wins when both are given (alibaba-cloud.md §4). */
  private async codeOf(source: CreateLayerVersionBody['source']): Promise<Uint8Array> {
    if ('zipFile' in source) return Buffer.from(source.zipFile, 'base64');
    const bytes = await this.options.readObject(source.ossBucketName, source.ossObjectName);
    if (bytes === undefined) {
      throw new ServiceError(400, 'InvalidArgument', `OSS object oss://${source.ossBucketName}/${source.ossObjectName} does not exist or cannot be read.`);
    }
    return bytes;
  }

  private errorResponse(error: ServiceError): Response {
    const body = this.errorCasing === 'PascalCase'
      ? { ErrorCode: error.code, ErrorMessage: error.message }
      : { errorCode: error.code, errorMessage: error.message };
    return json(body, error.status);
  }
}

/** The action a path names, or none; routing happens before the signature check so refusals are logged with it. */
function routeOf(method: string, rawPath: string, apiVersions: readonly string[]): FcRequestTarget {
  const path = safeDecode(rawPath);
  const upper = method.toUpperCase();
  const match = /^\/([^/]+)\/layers\/([^/]+)\/versions(?:\/([^/]+))?$/.exec(path);
  if (match === null || !apiVersions.includes(match[1] ?? '')) return { action: undefined, method: upper, path };
  const [, , layerName = '', versionText] = match;
  if (versionText === undefined) {
    const action = upper === 'POST' ? 'CreateLayerVersion' : upper === 'GET' ? 'ListLayerVersions' : undefined;
    return { action, method: upper, path, layerName };
  }
  const action = upper === 'GET' ? 'GetLayerVersion' : upper === 'DELETE' ? 'DeleteLayerVersion' : undefined;
  return { action, method: upper, path, layerName, version: Number(versionText) };
}

function positiveVersion(version: number | undefined): number {
  if (version === undefined || !Number.isInteger(version) || version < 1) throw invalid('version must be a positive integer.');
  return version;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

interface ParsedJson {
  value: unknown;
  /** A body was sent but is not JSON. */
  malformed: boolean;
}

function parseJson(bytes: Uint8Array): ParsedJson {
  if (bytes.byteLength === 0) return { value: undefined, malformed: false };
  try {
    return { value: JSON.parse(new TextDecoder().decode(bytes)) as unknown, malformed: false };
  } catch {
    return { value: undefined, malformed: true };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): ServiceError {
  return new ServiceError(400, 'InvalidArgument', message);
}

/**
 * Validates a CreateLayerVersion body. `Code` is what the 2021-04-06 API documents; `code` (the
 * 2016-08-15 sample's spelling) is accepted too, since which casing the gateway refuses is UNVERIFIED
 * (alibaba-cloud.md §3.2).
 */
function parseCreateBody(body: unknown): CreateLayerVersionBody {
  if (!isRecord(body)) throw invalid('The request body must be a JSON object.');
  const code = body.Code ?? body.code;
  if (!isRecord(code)) throw invalid('Code is required: { ossBucketName, ossObjectName } or { zipFile }.');
  const description = body.description ?? '';
  if (typeof description !== 'string') throw invalid('description must be a string.');
  return { source: codeSource(code), description, compatibleRuntime: runtimes(body.compatibleRuntime) };
}

function codeSource(code: Record<string, unknown>): CreateLayerVersionBody['source'] {
  if (typeof code.zipFile === 'string' && code.zipFile !== '') return { zipFile: code.zipFile };
  const { ossBucketName, ossObjectName } = code;
  if (typeof ossBucketName === 'string' && ossBucketName !== '' && typeof ossObjectName === 'string' && ossObjectName !== '') {
    return { ossBucketName, ossObjectName };
  }
  throw invalid('Code needs ossBucketName and ossObjectName, or zipFile.');
}

function runtimes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('compatibleRuntime must be a non-empty array of runtimes.');
  return value.map((runtime: unknown) => {
    if (typeof runtime !== 'string' || !LAYER_RUNTIMES.includes(runtime)) {
      throw invalid(`runtime: ${String(runtime)} is not supported by layer`);
    }
    return runtime;
  });
}

function integerParameter(query: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(`${name} must be an integer from ${min} to ${max}.`);
  return value;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}
