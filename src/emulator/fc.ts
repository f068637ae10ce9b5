import { Crc64 } from '../checksum/crc64';
import type { Credential } from './auth';
import { FaultInjector } from './faults';
import { NonceLog, verifyAcs3Signature } from './fc-acs3-signature';
import { FC3_LAYER_RUNTIMES, LAYER_RUNTIMES, type LayerStore, type LayerVersion, LayerRegistry, checkLayerName, fc3View, legacyView } from './fc-layers';
import { FunctionRegistry, type FunctionStore, type SeedFunction } from './fc-functions';
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
  /** API path prefixes served; default the three layer APIs: 2016-08-15, 2021-04-06 and 2023-03-30 (FC 3.0). */
  apiVersions?: readonly string[];
  /** FC 2.0's error body (2016-08-15, 2021-04-06): default `camelCase`, as documented. FC 3.0 has one shape only. */
  errorCasing?: ErrorCasing;
  /**
   * As a new account: the legacy `FC` signature is refused outside `/2016-08-15/`, the only API it is
   * documented for (docs/reference/alibaba-cloud.md §3.2); ACS3-HMAC-SHA256 is accepted everywhere.
   */
  newAccount?: boolean;
  now?: () => Date;
  /** Keeps layers across restarts; in memory when absent. */
  layerStore?: LayerStore;
  /** Keeps functions (seeded, or made by CreateFunction) across restarts; in memory when absent. */
  functionStore?: FunctionStore;
}

/** `PascalCase` is what FC sends and SDKs model; `camelCase` is the documented wire form (docs/reference/alibaba-cloud.md §3.3). */
export type ErrorCasing = 'PascalCase' | 'camelCase';

export type FcAction =
  | 'CreateLayerVersion'
  | 'ListLayerVersions'
  | 'GetLayerVersion'
  | 'DeleteLayerVersion'
  | 'PutLayerACL'
  | 'ListFunctions'
  | 'ListServices'
  | 'CreateFunction'
  | 'UpdateFunction'
  | 'GetFunction'
  | 'PublishFunctionVersion'
  | 'ListFunctionVersions'
  | 'CreateAlias'
  | 'UpdateAlias'
  | 'GetAlias'
  | 'ListAliases';

/** A request as faults match it and the log records it. */
export interface FcRequestTarget {
  /** Undefined for a path the emulator does not serve. */
  action: FcAction | undefined;
  method: string;
  /** Decoded path, without the query. */
  path: string;
  /** The API version the path names, when it names one this emulator serves. */
  apiVersion?: string;
  layerName?: string;
  version?: number;
  /** ListFunctions of one service, before FC 3.0. */
  serviceName?: string;
  /** FC 3.0's function actions: the function they act on. */
  functionName?: string;
  /** GetAlias and UpdateAlias. */
  aliasName?: string;
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
  license?: string;
}

export interface FcEmulator {
  /** The fake itself: answers one HTTP request as Function Compute would. */
  handle(request: Request): Promise<Response>;
  /** Creates a version directly (no request), as if published earlier. */
  seedVersion(layerName: string, seed: SeedLayerVersion): LayerVersion;
  /** Every live version of a layer, oldest first. */
  versions(layerName: string): LayerVersion[];
  /** A function (in a service, for the APIs before FC 3.0) whose configuration names these layer versions. */
  seedFunction(seed: SeedFunction): void;
  /** The next CreateLayerVersion reports (and keeps) a codeChecksum that is not the code's CRC-64. */
  reportWrongChecksumOnNextCreate(): void;
  errorCasing: ErrorCasing;
  readonly requests: RequestLog<FcRequestRecord>;
  readonly faults: FaultInjector<FcRequestTarget>;
}

const DEFAULT_API_VERSIONS = ['2021-04-06', '2023-03-30', '2016-08-15'];
/** FC 3.0: lower-case `code`, with a `checksum` FC verifies, and `license` (docs/reference/alibaba-cloud.md §5). */
const FC3 = '2023-03-30';
const LEGACY_SCHEME_VERSION = '2016-08-15';
const DEFAULT_LIST_LIMIT = 20;
const MAX_LIST_LIMIT = 100;

interface CreateLayerVersionBody {
  source: { zipFile: string } | { ossBucketName: string; ossObjectName: string };
  /** FC 3.0's `code.checksum`: the CRC-64 the code must have. */
  checksum: string | undefined;
  description: string;
  compatibleRuntime: string[];
  license: string;
}

export function createFcEmulator(options: FcEmulatorOptions): FcEmulator {
  return new FcService(options);
}

class FcService implements FcEmulator {
  readonly requests = new RequestLog<FcRequestRecord>();
  readonly faults = new FaultInjector<FcRequestTarget>();
  errorCasing: ErrorCasing;
  private readonly registry: LayerRegistry;
  private readonly functions: FunctionRegistry;
  private readonly now: () => Date;
  private readonly apiVersions: readonly string[];
  private corruptNextChecksum = false;
  private readonly nonces = new NonceLog();

  constructor(private readonly options: FcEmulatorOptions) {
    this.now = options.now ?? (() => new Date());
    this.errorCasing = options.errorCasing ?? 'camelCase';
    this.apiVersions = options.apiVersions ?? DEFAULT_API_VERSIONS;
    this.registry = new LayerRegistry(options.accountId, options.region, this.now, options.layerStore);
    this.functions = new FunctionRegistry((layerName, version) => this.registry.get(layerName, version), options.functionStore, this.now);
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
      this.verifySignature(request, target, bytes);
      response = await this.faults.apply(target, () => this.dispatch(target, url.searchParams, body));
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      code = error.code;
      response = this.errorResponse(error, target.apiVersion, requestId);
    }
    response.headers.set('x-fc-request-id', requestId);
    response.headers.set('date', this.now().toUTCString());
    const query = Object.fromEntries(url.searchParams);
    const headers = loggableHeaders(request.headers);
    delete headers['x-acs-security-token'];
    this.requests.record({ ...target, query, headers, body: body.value, status: response.status, code, requestId });
    return response;
  };

  seedVersion(layerName: string, seed: SeedLayerVersion): LayerVersion {
    checkLayerName(layerName);
    return this.registry.create(layerName, {
      description: seed.description ?? '',
      compatibleRuntime: seed.compatibleRuntime ?? ['nodejs20'],
      codeChecksum: new Crc64().update(seed.code).digest(),
      codesize: seed.code.byteLength,
      license: seed.license ?? '',
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

  seedFunction(seed: SeedFunction): void {
    this.functions.seed(seed);
  }

  reportWrongChecksumOnNextCreate(): void {
    this.corruptNextChecksum = true;
  }

  /** The scheme is told by the Authorization header; each is checked as FC checks it. */
  private verifySignature(request: Request, target: FcRequestTarget, bytes: Uint8Array): void {
    const caller = { accountId: this.options.accountId, credentials: this.options.credentials, now: this.now() };
    if ((request.headers.get('authorization') ?? '').startsWith('ACS3-HMAC-SHA256 ')) {
      verifyAcs3Signature(request, bytes, caller, this.nonces);
      checkAccountHost(request, this.options.accountId);
      return;
    }
    if (this.options.newAccount && target.apiVersion !== undefined && target.apiVersion !== LEGACY_SCHEME_VERSION) {
      throw new ServiceError(
        403,
        'AccessDenied',
        `The FC signature scheme is accepted only on /${LEGACY_SCHEME_VERSION}/; sign /${target.apiVersion}/ requests ACS3-HMAC-SHA256 as Alibaba's SDK for that API does.`,
      );
    }
    verifyFcSignature(request, target.path, bytes, caller);
  }

  private async dispatch(target: FcRequestTarget, query: URLSearchParams, body: ParsedJson): Promise<Response> {
    const { action, layerName = '' } = target;
    const fc3 = target.apiVersion === FC3;
    const view = (version: LayerVersion): object => (fc3 ? fc3View(version) : legacyView(version));
    switch (action) {
      case 'CreateLayerVersion':
        return json(view(await this.createLayerVersion(layerName, body, fc3)));
      case 'ListLayerVersions': {
        const page = this.registry.list(
          layerName,
          integerParameter(query, 'startVersion', 1, Number.MAX_SAFE_INTEGER) ?? 1,
          integerParameter(query, 'limit', 1, MAX_LIST_LIMIT) ?? DEFAULT_LIST_LIMIT,
        );
        return json({ ...page, layers: page.layers.map(view) });
      }
      case 'GetLayerVersion':
        return json(view(this.registry.get(layerName, positiveVersion(target.version))));
      case 'DeleteLayerVersion':
        this.registry.delete(layerName, positiveVersion(target.version));
        return new Response(null, { status: 204 });
      case 'PutLayerACL':
        this.registry.setAcl(layerName, aclParameter(query, fc3));
        return new Response(null, { status: 200 });
      case 'ListFunctions':
      case 'ListServices': {
        const limit = integerParameter(query, 'limit', 1, MAX_LIST_LIMIT) ?? DEFAULT_LIST_LIMIT;
        const token = query.get('nextToken');
        const listed =
          action === 'ListServices'
            ? this.functions.listServices(limit, token)
            : target.serviceName === undefined
              ? this.functions.listFc3(limit, token)
              : this.functions.listOfService(target.serviceName, limit, token);
        const items = action === 'ListServices' ? { services: listed.items } : { functions: listed.items };
        return json({ ...items, ...(listed.nextToken === undefined ? {} : { nextToken: listed.nextToken }) });
      }
      case 'CreateFunction':
      case 'UpdateFunction':
      case 'GetFunction':
      case 'PublishFunctionVersion':
      case 'ListFunctionVersions':
      case 'CreateAlias':
      case 'UpdateAlias':
      case 'GetAlias':
      case 'ListAliases':
        if (body.malformed) throw invalid('The request body is not valid JSON.');
        return json(this.functionAction(action, target, query, body.value));
      case undefined:
        throw new ServiceError(400, 'PathNotSupported', `The path ${target.method} ${target.path} is not supported.`);
    }
  }

  /** FC 3.0's function API: the function, its published versions and its aliases. */
  private functionAction(action: Fc3FunctionAction, target: FcRequestTarget, query: URLSearchParams, body: unknown): object {
    const { functionName = '', aliasName = '' } = target;
    const limit = (): number => integerParameter(query, 'limit', 1, MAX_LIST_LIMIT) ?? DEFAULT_LIST_LIMIT;
    const token = query.get('nextToken');
    switch (action) {
      case 'CreateFunction':
        return this.functions.createFc3(body);
      case 'UpdateFunction':
        return this.functions.updateFc3(functionName, body);
      case 'GetFunction':
        return this.functions.getFc3(functionName, query.get('qualifier'));
      case 'PublishFunctionVersion':
        return this.functions.publishVersion(functionName, body);
      case 'ListFunctionVersions': {
        const direction = directionParameter(query);
        const { items, nextToken } = this.functions.listVersions(functionName, direction, limit(), token);
        return { versions: items, direction, ...(nextToken === undefined ? {} : { nextToken }) };
      }
      case 'CreateAlias':
        return this.functions.createAlias(functionName, body);
      case 'UpdateAlias':
        return this.functions.updateAlias(functionName, aliasName, body);
      case 'GetAlias':
        return this.functions.getAlias(functionName, aliasName);
      case 'ListAliases': {
        const { items, nextToken } = this.functions.listAliases(functionName, query.get('prefix') ?? '', limit(), token);
        return { aliases: items, ...(nextToken === undefined ? {} : { nextToken }) };
      }
    }
  }

  private async createLayerVersion(layerName: string, body: ParsedJson, fc3: boolean): Promise<LayerVersion> {
    checkLayerName(layerName);
    if (body.malformed) throw new ServiceError(400, 'InvalidArgument', 'The request body is not valid JSON.');
    const request = parseCreateBody(body.value, fc3);
    const code = await this.codeOf(request.source);
    const checksum = new Crc64().update(code).digest();
    if (request.checksum !== undefined && request.checksum !== checksum) {
      throw invalid(`code.checksum ${request.checksum} does not match the CRC-64 ${checksum} of the code.`);
    }
    const reported = this.corruptNextChecksum ? (BigInt(checksum) ^ 1n).toString() : checksum;
    this.corruptNextChecksum = false;
    return this.registry.create(layerName, {
      description: request.description,
      compatibleRuntime: request.compatibleRuntime,
      codeChecksum: reported,
      codesize: code.byteLength,
      license: request.license,
    });
  }

  /** zipFile wins when both are given (docs/reference/alibaba-cloud.md §4). */
  private async codeOf(source: CreateLayerVersionBody['source']): Promise<Uint8Array> {
    if ('zipFile' in source) return Buffer.from(source.zipFile, 'base64');
    const bytes = await this.options.readObject(source.ossBucketName, source.ossObjectName);
    if (bytes === undefined) {
      throw new ServiceError(400, 'InvalidArgument', `OSS object oss://${source.ossBucketName}/${source.ossObjectName} does not exist or cannot be read.`);
    }
    return bytes;
  }

  /**
   * Each API's own error body (docs/reference/alibaba-cloud.md §11): FC 3.0's `Error` struct `{Code, Message,
   * RequestId}`, which its SDK reads; FC 2.0's `{errorCode, errorMessage}` (or PascalCase, as fc2 reads
   * it, when asked), its request id in `x-fc-request-id` only. A path of no API answers as FC 2.0.
   */
  private errorResponse(error: ServiceError, apiVersion: string | undefined, requestId: string): Response {
    if (apiVersion === FC3) return json({ Code: error.code, Message: error.message, RequestId: requestId }, error.status);
    const body =
      this.errorCasing === 'PascalCase' ? { ErrorCode: error.code, ErrorMessage: error.message } : { errorCode: error.code, errorMessage: error.message };
    return json(body, error.status);
  }
}

/** The action a path names, or none; routing happens before the signature check so refusals are logged with it. */
function routeOf(method: string, rawPath: string, apiVersions: readonly string[]): FcRequestTarget {
  const path = safeDecode(rawPath);
  const upper = method.toUpperCase();
  const other = otherRouteOf(upper, path, apiVersions);
  if (other !== undefined) return other;
  const match = /^\/([^/]+)\/layers\/([^/]+)\/versions(?:\/([^/]+))?$/.exec(path);
  if (match === null || !apiVersions.includes(match[1] ?? '')) return { action: undefined, method: upper, path };
  const [, apiVersion = '', layerName = '', versionText] = match;
  if (versionText === undefined) {
    const action = upper === 'POST' ? 'CreateLayerVersion' : upper === 'GET' ? 'ListLayerVersions' : undefined;
    return { action, method: upper, path, apiVersion, layerName };
  }
  const action = upper === 'GET' ? 'GetLayerVersion' : upper === 'DELETE' ? 'DeleteLayerVersion' : undefined;
  return { action, method: upper, path, apiVersion, layerName, version: Number(versionText) };
}

/** PutLayerACL and the function listings; FC 3.0 has no services, the older APIs no account-wide function list. */
function otherRouteOf(method: string, path: string, apiVersions: readonly string[]): FcRequestTarget | undefined {
  const acl = /^\/([^/]+)\/layers\/([^/]+)\/acl$/.exec(path);
  if (acl !== null && apiVersions.includes(acl[1] ?? '')) {
    return { action: method === 'PUT' ? 'PutLayerACL' : undefined, method, path, apiVersion: acl[1], layerName: acl[2] };
  }
  const fc3Function = fc3FunctionRouteOf(method, path, apiVersions);
  if (fc3Function !== undefined) return fc3Function;
  const listing = /^\/([^/]+)\/(functions|services)(?:\/([^/]+)\/functions)?$/.exec(path);
  const [, apiVersion = '', collection, serviceName] = listing ?? [];
  if (listing === null || !apiVersions.includes(apiVersion) || method !== 'GET') return undefined;
  const fc3 = apiVersion === FC3;
  if (collection === 'functions' && fc3) return { action: 'ListFunctions', method, path, apiVersion };
  if (collection === 'services' && !fc3 && serviceName === undefined) return { action: 'ListServices', method, path, apiVersion };
  if (collection === 'services' && !fc3) return { action: 'ListFunctions', method, path, apiVersion, serviceName };
  return undefined;
}

type Fc3FunctionAction = Extract<
  FcAction,
  | 'CreateFunction'
  | 'UpdateFunction'
  | 'GetFunction'
  | 'PublishFunctionVersion'
  | 'ListFunctionVersions'
  | 'CreateAlias'
  | 'UpdateAlias'
  | 'GetAlias'
  | 'ListAliases'
>;

/** `<method> <what is named>` → FC 3.0 action, as the official SDK's client routes them. */
const FC3_FUNCTION_ACTIONS: Record<string, Fc3FunctionAction> = {
  'POST functions': 'CreateFunction',
  'GET function': 'GetFunction',
  'PUT function': 'UpdateFunction',
  'POST versions': 'PublishFunctionVersion',
  'GET versions': 'ListFunctionVersions',
  'POST aliases': 'CreateAlias',
  'GET aliases': 'ListAliases',
  'GET alias': 'GetAlias',
  'PUT alias': 'UpdateAlias',
};

/**
 * `/2023-03-30/functions[/{functionName}[/versions | /aliases[/{aliasName}]]]`; `GET /functions`
 * (ListFunctions) is left to the listings.
 */
function fc3FunctionRouteOf(method: string, path: string, apiVersions: readonly string[]): FcRequestTarget | undefined {
  const match = /^\/2023-03-30\/functions(?:\/([^/]+)(?:\/(versions|aliases)(?:\/([^/]+))?)?)?$/.exec(path);
  if (match === null || !apiVersions.includes(FC3)) return undefined;
  const [, functionName, collection, aliasName] = match;
  if (functionName === undefined && method === 'GET') return undefined;
  if (collection === 'versions' && aliasName !== undefined) return { action: undefined, method, path, apiVersion: FC3 };
  const named = functionName === undefined ? 'functions' : collection === undefined ? 'function' : aliasName === undefined ? collection : 'alias';
  return {
    action: FC3_FUNCTION_ACTIONS[`${method} ${named}`],
    method,
    path,
    apiVersion: FC3,
    ...(functionName === undefined ? {} : { functionName }),
    ...(aliasName === undefined ? {} : { aliasName }),
  };
}

/** ListFunctionVersions' `direction`: BACKWARD (newest first, FC's default) or FORWARD. */
function directionParameter(query: URLSearchParams): 'FORWARD' | 'BACKWARD' {
  const direction = query.get('direction') ?? 'BACKWARD';
  if (direction !== 'FORWARD' && direction !== 'BACKWARD') throw invalid('direction must be FORWARD or BACKWARD.');
  return direction;
}

/** FC 3.0 takes `acl=1|0` (and the deprecated `public`); the older APIs `public=true|false`. */
function aclParameter(query: URLSearchParams, fc3: boolean): 0 | 1 {
  const acl = query.get('acl');
  if (fc3 && acl !== null) {
    if (acl !== '0' && acl !== '1') throw invalid('acl must be 1 (public) or 0 (private).');
    return acl === '1' ? 1 : 0;
  }
  const visibility = query.get('public');
  if (visibility !== 'true' && visibility !== 'false') throw invalid(fc3 ? 'acl must be 1 (public) or 0 (private).' : 'public must be true or false.');
  return visibility === 'true' ? 1 : 0;
}

/** An account endpoint (`<accountId>.<region>[-internal].fc.aliyuncs.com`) serves its own account only. */
function checkAccountHost(request: Request, accountId: string): void {
  const host = request.headers.get('host') ?? new URL(request.url).host;
  const named = /^([^.]+)\.[^.]+\.fc\.aliyuncs\.com(?::\d+)?$/.exec(host)?.[1];
  if (named !== undefined && named !== accountId) throw new ServiceError(403, 'AccessDenied', `The account ${named} is not this endpoint's account.`);
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
 * (docs/reference/alibaba-cloud.md §3.2). FC 3.0 names it `code` only, with `checksum` and `license` beside.
 */
function parseCreateBody(body: unknown, fc3: boolean): CreateLayerVersionBody {
  if (!isRecord(body)) throw invalid('The request body must be a JSON object.');
  const code = fc3 ? body.code : (body.Code ?? body.code);
  const field = fc3 ? 'code' : 'Code';
  if (!isRecord(code)) throw invalid(`${field} is required: { ossBucketName, ossObjectName } or { zipFile }.`);
  const description = optionalString(body, 'description');
  const checksum = fc3 && code.checksum !== undefined ? optionalString(code, 'checksum') : undefined;
  if (checksum !== undefined && !/^\d+$/.test(checksum)) throw invalid('code.checksum must be the CRC-64 of the code as an unsigned decimal string.');
  return {
    source: codeSource(code, field),
    checksum,
    description,
    compatibleRuntime: runtimes(body.compatibleRuntime, fc3 ? FC3_LAYER_RUNTIMES : LAYER_RUNTIMES),
    license: fc3 ? optionalString(body, 'license') : '',
  };
}

function optionalString(record: Record<string, unknown>, name: string): string {
  const value = record[name] ?? '';
  if (typeof value !== 'string') throw invalid(`${name} must be a string.`);
  return value;
}

function codeSource(code: Record<string, unknown>, field: string): CreateLayerVersionBody['source'] {
  if (typeof code.zipFile === 'string' && code.zipFile !== '') return { zipFile: code.zipFile };
  const { ossBucketName, ossObjectName } = code;
  if (typeof ossBucketName === 'string' && ossBucketName !== '' && typeof ossObjectName === 'string' && ossObjectName !== '') {
    return { ossBucketName, ossObjectName };
  }
  throw invalid(`${field} needs ossBucketName and ossObjectName, or zipFile.`);
}

function runtimes(value: unknown, supported: readonly string[]): string[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('compatibleRuntime must be a non-empty array of runtimes.');
  return value.map((runtime: unknown) => {
    if (typeof runtime !== 'string' || !supported.includes(runtime)) {
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
