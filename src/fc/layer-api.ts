import * as z from 'zod/mini';
import type { FcApiVersion } from '../config';
import { FcRejectedError, type PublisherError, TransientError } from '../errors';
import { builtOnFirstUse, describeIssues } from '../validation';
import type { FcAction, FcResponse, FcTransport, TransportOptions } from './http';
import type { CreateLayerVersionInput, LayerApi, LayerUse, LayerVersion } from './layers';

export interface FcLayersOptions extends Omit<TransportOptions, 'endpoint' | 'apiVersion'> {
  endpoint: URL | undefined;
  apiVersion: FcApiVersion;
}

/**
 * The layer API for `FC_API_VERSION`, signed as Alibaba's own client for that API signs (docs/contract.md §2):
 * ACS3-HMAC-SHA256 for 2021-04-06 and 2023-03-30, fc2's `FC` scheme for 2016-08-15. The adapters only
 * sign and send; what is sent and how answers are read is decided here, once.
 */
export function createFcLayers(options: FcLayersOptions): LayerApi {
  // The account's endpoint serves every layer API, FC 3.0's included (devsapp/fc3 uses it too).
  const endpoint = options.endpoint ?? new URL(`https://${options.accountId}.${options.region}-internal.fc.aliyuncs.com`);
  const transportOptions = { ...options, endpoint };
  // The adapter, its SDK and node:https are loaded by the first call, not when the API is made: an
  // invocation that calls no layer API never pays for them.
  let signing: Promise<FcTransport> | undefined;
  const connect = () =>
    (signing ??=
      options.apiVersion === '2016-08-15'
        ? import('./fc2-layers').then(({ fc2Transport }) => fc2Transport(transportOptions))
        : import('./acs3-layers').then(({ acs3Transport }) => acs3Transport(transportOptions)));
  return layerApi(options.apiVersion, (call) => connect().then((transport) => transport(call)));
}

/**
 * FC answers with codeChecksum as a decimal string; sendHttp reads one given as a bare integer as its
 * digits. A number that still gets here (a fraction, an exponent) has lost precision, and is kept only
 * to be reported as a mismatch.
 */
const checksumSchema = builtOnFirstUse(() =>
  z.pipe(
    z.union([z.string(), z.number()]),
    z.transform((value) => String(value)),
  ),
);

// Extra and renamed fields are expected (FC renamed Arn to arn once; FC 3.0 says layerVersionArn):
// only what we decide on is required.
const layerVersionSchema = builtOnFirstUse(() =>
  z.looseObject({
    layerName: z.optional(z.string()),
    version: z.number(),
    description: z.optional(z.nullable(z.string())),
    compatibleRuntime: z.optional(z.nullable(z.array(z.string()))),
    // Optional here so one odd list item cannot hide the others; a version without it never matches.
    codeChecksum: z.optional(checksumSchema()),
    arn: z.optional(z.string()),
    Arn: z.optional(z.string()),
    layerVersionArn: z.optional(z.string()),
    arnV2: z.optional(z.string()),
    createTime: z.optional(z.string()),
  }),
);

const listSchema = builtOnFirstUse(() =>
  z.looseObject({
    layers: z.optional(z.nullable(z.array(z.unknown()))),
    nextVersion: z.optional(z.nullable(z.number())),
  }),
);

/** Page size for ListLayerVersions; FC caps `limit` at 100. */
const PAGE_SIZE = 100;

/** CreateLayerVersion's body as each API names it (docs/contract.md §5 step 6). */
function createBody(apiVersion: FcApiVersion, input: CreateLayerVersionInput): object {
  const description = input.description === undefined ? {} : { description: input.description };
  const location = { ossBucketName: input.ossBucketName, ossObjectName: input.ossObjectName };
  if (apiVersion === '2023-03-30') {
    // FC 3.0 checks the code it fetches against `checksum`, so it cannot publish other bytes than ours.
    const license = input.license === undefined ? {} : { license: input.license };
    return { code: { ...location, checksum: input.checksum }, compatibleRuntime: input.compatibleRuntime, ...description, ...license };
  }
  return { Code: location, compatibleRuntime: input.compatibleRuntime, ...description };
}

function layerApi(apiVersion: FcApiVersion, transport: FcTransport): LayerApi {
  return {
    async create(input) {
      const response = await call('CreateLayerVersion', input.layerName, () =>
        transport({
          action: 'CreateLayerVersion',
          method: 'POST',
          segments: ['layers', input.layerName, 'versions'],
          query: {},
          body: createBody(apiVersion, input),
        }),
      );
      return { ...toLayerVersion(response.data, 'CreateLayerVersion', input.layerName), requestId: requestIdOf(response) };
    },

    async versionsFrom(layerName, firstVersion) {
      const versions: LayerVersion[] = [];
      let startVersion = firstVersion;
      for (;;) {
        const query = { startVersion: String(startVersion), limit: String(PAGE_SIZE) };
        const response = await call('ListLayerVersions', layerName, () =>
          transport({ action: 'ListLayerVersions', method: 'GET', segments: ['layers', layerName, 'versions'], query }),
        ).catch((error: unknown) => {
          if (error instanceof FcRejectedError && error.context.status === 404) return undefined;
          throw error;
        });
        if (response === undefined) return [];
        const page = parseResponse(listSchema(), response.data, 'ListLayerVersions', layerName);
        for (const item of page.layers ?? []) {
          const version = toLayerVersion(item, 'ListLayerVersions', layerName);
          if (version.version >= firstVersion) versions.push(version);
        }
        // Both APIs page by nextVersion, the first version of the next page; absent on the last one.
        const next = page.nextVersion;
        // A next version that does not move forward would loop forever on a misbehaving endpoint.
        if (next === undefined || next === null || next <= startVersion) {
          return versions.sort((a, b) => b.version - a.version);
        }
        startVersion = next;
      }
    },

    async delete(layerName, version) {
      await call('DeleteLayerVersion', layerName, () =>
        transport({ action: 'DeleteLayerVersion', method: 'DELETE', segments: ['layers', layerName, 'versions', String(version)], query: {} }),
      );
    },

    async putAcl(layerName, isPublic) {
      // FC 3.0 deprecates `public=true` for `acl=1`; the older APIs (and fc2's putLayerACL) know `public` only.
      const query: Record<string, string> = apiVersion === '2023-03-30' ? { acl: isPublic ? '1' : '0' } : { public: String(isPublic) };
      const response = await call('PutLayerACL', layerName, () =>
        transport({ action: 'PutLayerACL', method: 'PUT', segments: ['layers', layerName, 'acl'], query }),
      );
      return { requestId: requestIdOf(response) };
    },

    async layersInUse() {
      const page = (action: 'ListFunctions' | 'ListServices', segments: string[]) =>
        pages(action, (query) => call(action, undefined, () => transport({ action, method: 'GET', segments, query })).then((response) => response.data));
      if (apiVersion === '2023-03-30') return usesOf(await page('ListFunctions', ['functions']), (name) => name);
      // Before FC 3.0 functions live in services: each service's functions are listed in turn.
      const uses: LayerUse[] = [];
      for (const service of await page('ListServices', ['services'])) {
        const serviceName = itemSchema().safeParse(service).data?.serviceName;
        if (serviceName === undefined) continue;
        uses.push(...usesOf(await page('ListFunctions', ['services', serviceName, 'functions']), (name) => `${serviceName}/${name}`));
      }
      return uses;
    },
  };
}

const pageSchema = builtOnFirstUse(() =>
  z.looseObject({
    functions: z.optional(z.nullable(z.array(z.unknown()))),
    services: z.optional(z.nullable(z.array(z.unknown()))),
    versions: z.optional(z.nullable(z.array(z.unknown()))),
    aliases: z.optional(z.nullable(z.array(z.unknown()))),
    nextToken: z.optional(z.nullable(z.string())),
  }),
);

// FC 3.0 lists a function's layers as `{arn, size}`; 2016-08-15 and 2021-04-06 as ARN strings, the
// legacy `<hash>#<name>#<version>` in `layers` and `acs:fc:…:layers/<name>/versions/<n>` in `layersArnV2`.
const itemSchema = builtOnFirstUse(() =>
  z.looseObject({
    serviceName: z.optional(z.string()),
    functionName: z.optional(z.string()),
    layers: z.optional(z.nullable(z.array(z.union([z.string(), z.looseObject({ arn: z.optional(z.string()) })])))),
    layersArnV2: z.optional(z.nullable(z.array(z.string()))),
  }),
);

/** Every item of a listing that pages by `nextToken`, 100 at a time. */
export async function pages(action: FcAction, fetch: (query: Record<string, string>) => Promise<unknown>): Promise<unknown[]> {
  const items: unknown[] = [];
  let nextToken: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    const query: Record<string, string> = { limit: String(PAGE_SIZE), ...(nextToken === undefined ? {} : { nextToken }) };
    const page = parseResponse(pageSchema(), await fetch(query), action, undefined);
    items.push(...(page.functions ?? page.services ?? page.versions ?? page.aliases ?? []));
    // A token seen before would loop forever on a misbehaving endpoint.
    if (page.nextToken === undefined || page.nextToken === null || page.nextToken === '' || seen.has(page.nextToken)) return items;
    seen.add(page.nextToken);
    nextToken = page.nextToken;
  }
}

function usesOf(functions: unknown[], nameOf: (functionName: string) => string): LayerUse[] {
  const uses: LayerUse[] = [];
  for (const item of functions) {
    const parsed = itemSchema().safeParse(item).data;
    if (parsed?.functionName === undefined) continue;
    const arns = [...(parsed.layers ?? []).map((layer) => (typeof layer === 'string' ? layer : layer.arn)), ...(parsed.layersArnV2 ?? [])];
    const named = new Set<string>();
    for (const arn of arns) {
      const layer = arn === undefined ? undefined : layerOfArn(arn);
      if (layer === undefined || named.has(`${layer.layerName}#${layer.version}`)) continue;
      named.add(`${layer.layerName}#${layer.version}`);
      uses.push({ functionName: nameOf(parsed.functionName), ...layer });
    }
  }
  return uses;
}

/** The layer and version an ARN names, in either of FC's forms; undefined for anything else. */
export function layerOfArn(arn: string): { layerName: string; version: number } | undefined {
  const match = /^acs:fc:[^:]*:[^:]*:layers\/([^/]+)\/versions\/(\d+)$/.exec(arn) ?? /^[^#]*#([^#]+)#(\d+)$/.exec(arn);
  if (match === null) return undefined;
  const version = Number(match[2]);
  return Number.isSafeInteger(version) && version > 0 ? { layerName: match[1]!, version } : undefined;
}

function toLayerVersion(data: unknown, operation: FcAction, layerName: string): LayerVersion {
  const parsed = parseResponse(layerVersionSchema(), data, operation, layerName);
  return {
    layerName: parsed.layerName ?? layerName,
    version: parsed.version,
    description: parsed.description ?? '',
    compatibleRuntime: parsed.compatibleRuntime ?? [],
    codeChecksum: parsed.codeChecksum ?? '',
    arn: parsed.arn ?? parsed.Arn ?? parsed.layerVersionArn ?? parsed.arnV2,
    createTime: parsed.createTime,
    raw: data as Record<string, unknown>,
  };
}

export function parseResponse<T>(schema: z.ZodMiniType<T>, data: unknown, operation: FcAction, layerName: string | undefined): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  // An answer we cannot read is not the user's fault and may be a passing fault of a proxy.
  throw new TransientError(`FC ${operation}${subjectOf(layerName)} answered with an unexpected body: ${describeIssues(result.error.issues)}`, {
    context: { operation, layerName },
  });
}

/** Calls about functions name no layer. */
function subjectOf(layerName: string | undefined): string {
  return layerName === undefined ? '' : ` for layer ${layerName}`;
}

/** `subject` names what the call is about in its errors: the layer by default, a function for the function API. */
export async function call(
  operation: FcAction,
  layerName: string | undefined,
  send: () => Promise<FcResponse>,
  subject = subjectOf(layerName),
): Promise<FcResponse> {
  let response: FcResponse;
  try {
    response = await send();
  } catch (error) {
    // No HTTP answer at all: a timeout or a dropped connection. A create may still have happened.
    throw new TransientError(`FC ${operation}${subject} got no answer: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      context: { operation, layerName, outcomeUnknown: true },
    });
  }
  if (response.status >= 200 && response.status < 300) return response;
  throw classify(response, operation, layerName, subject);
}

/** FC 2.0 and 3.0 name the request in `x-fc-request-id`; the ACS gateway in `x-acs-request-id`. */
export function requestIdOf(response: FcResponse): string | undefined {
  for (const name of ['x-fc-request-id', 'x-acs-request-id']) {
    const value = response.headers[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/**
 * FC 2.0 errors are documented as `{errorCode, errorMessage}`, and fc2 models them PascalCase
 * (docs/reference/alibaba-cloud.md §3.3); FC 3.0's are `{Code, Message, RequestId}` (§11): every spelling is read.
 */
function classify(response: FcResponse, operation: FcAction, layerName: string | undefined, subject: string): PublisherError {
  const body = typeof response.data === 'object' && response.data !== null ? (response.data as Record<string, unknown>) : {};
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const code = text(body.ErrorCode) ?? text(body.errorCode) ?? text(body.Code) ?? text(body.code);
  const message =
    text(body.ErrorMessage) ??
    text(body.errorMessage) ??
    text(body.Message) ??
    text(body.message) ??
    (typeof response.data === 'string' ? response.data.slice(0, 300) : undefined);
  const { status } = response;
  const context = { operation, layerName, status, fcCode: code, fcRequestId: requestIdOf(response) };
  const quoted = `FC ${operation}${subject} failed with HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  if (status === 408 || status === 429 || status >= 500 || (status === 409 && code === 'ConcurrentUpdateError') || /Throttl/i.test(code ?? '')) {
    return new TransientError(quoted, { context });
  }
  return new FcRejectedError(quoted, { context });
}
