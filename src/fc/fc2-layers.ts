import FcClient from '@alicloud/fc2/lib/client.js';
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import * as z from 'zod/mini';
import type { Credentials } from '../config';
import { FcRejectedError, PublisherError, TransientError } from '../errors';
import { describeIssues } from '../validation';
import type { CreateLayerVersionInput, LayerApi, LayerVersion } from './layers';

export interface FcLayersOptions {
  accountId: string;
  region: string;
  endpoint: URL | undefined;
  apiVersion: string;
  credentials: Credentials;
  timeoutMs: number;
}

/**
 * FC answers with codeChecksum as a decimal string; a number would already have lost precision in
 * JSON.parse, so it is kept only to be reported as a mismatch, never trusted as equal.
 */
const checksumSchema = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((value) => String(value)),
);

// Extra and renamed fields are expected (FC renamed Arn to arn once): only what we decide on is required.
const layerVersionSchema = z.looseObject({
  layerName: z.optional(z.string()),
  version: z.number(),
  description: z.optional(z.nullable(z.string())),
  compatibleRuntime: z.optional(z.nullable(z.array(z.string()))),
  // Optional here so one odd list item cannot hide the others; a version without it never matches.
  codeChecksum: z.optional(checksumSchema),
  arn: z.optional(z.string()),
  Arn: z.optional(z.string()),
  arnV2: z.optional(z.string()),
  createTime: z.optional(z.string()),
});

const listSchema = z.looseObject({
  layers: z.optional(z.nullable(z.array(z.unknown()))),
  nextVersion: z.optional(z.nullable(z.number())),
});

/** Page size for ListLayerVersions; FC caps `limit` at 100. */
const PAGE_SIZE = 100;

/**
 * The only file that knows @alicloud/fc2. Its signing and headers are used as they are
 * (alibaba-cloud.md §3.2); the request itself is sent here, because fc2 throws away what a caller
 * needs to classify a failure: the HTTP status, and the error code when FC answers in the
 * documented camelCase (`errorCode`), which fc2 reads only as PascalCase (alibaba-cloud.md §0.8).
 */
export function createFcLayers(options: FcLayersOptions): LayerApi {
  const endpoint = options.endpoint ?? new URL(`https://${options.accountId}.${options.region}-internal.fc.aliyuncs.com`);
  const client = new FcClient(options.accountId, {
    accessKeyID: options.credentials.accessKeyId,
    accessKeySecret: options.credentials.accessKeySecret,
    securityToken: options.credentials.securityToken,
    region: options.region,
    endpoint: endpoint.origin,
    timeout: options.timeoutMs,
  });
  client.version = options.apiVersion;
  const send = (method: string, path: string, query: Record<string, string>, body?: object) =>
    sendSigned(client, options.timeoutMs, { method, path, query, body });

  return {
    async create(input: CreateLayerVersionInput) {
      const body: Record<string, unknown> = {
        Code: { ossBucketName: input.ossBucketName, ossObjectName: input.ossObjectName },
        compatibleRuntime: input.compatibleRuntime,
      };
      if (input.description !== undefined) body.description = input.description;
      const response = await call('CreateLayerVersion', input.layerName, () =>
        send('POST', `/layers/${input.layerName}/versions`, {}, body),
      );
      return toLayerVersion(response.data, 'CreateLayerVersion', input.layerName);
    },

    async versionsFrom(layerName, firstVersion) {
      const versions: LayerVersion[] = [];
      let startVersion = firstVersion;
      for (;;) {
        const response = await call('ListLayerVersions', layerName, () =>
          send('GET', `/layers/${layerName}/versions`, { startVersion: String(startVersion), limit: String(PAGE_SIZE) }),
        ).catch((error: unknown) => {
          if (error instanceof FcRejectedError && error.context.status === 404) return undefined;
          throw error;
        });
        if (response === undefined) return [];
        const page = parseResponse(listSchema, response.data, 'ListLayerVersions', layerName);
        for (const item of page.layers ?? []) {
          const version = toLayerVersion(item, 'ListLayerVersions', layerName);
          if (version.version >= firstVersion) versions.push(version);
        }
        const next = page.nextVersion;
        // A next version that does not move forward would loop forever on a misbehaving endpoint.
        if (next === undefined || next === null || next <= startVersion) {
          return versions.sort((a, b) => b.version - a.version);
        }
        startVersion = next;
      }
    },

    async delete(layerName, version) {
      await call('DeleteLayerVersion', layerName, () => send('DELETE', `/layers/${layerName}/versions/${version}`, {}));
    },
  };
}

function toLayerVersion(data: unknown, operation: string, layerName: string): LayerVersion {
  const parsed = parseResponse(layerVersionSchema, data, operation, layerName);
  return {
    layerName: parsed.layerName ?? layerName,
    version: parsed.version,
    description: parsed.description ?? '',
    compatibleRuntime: parsed.compatibleRuntime ?? [],
    codeChecksum: parsed.codeChecksum ?? '',
    arn: parsed.arn ?? parsed.Arn ?? parsed.arnV2,
    createTime: parsed.createTime,
    raw: data as Record<string, unknown>,
  };
}

function parseResponse<T>(schema: z.ZodMiniType<T>, data: unknown, operation: string, layerName: string): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  // An answer we cannot read is not the user's fault and may be a passing fault of a proxy.
  throw new TransientError(
    `FC ${operation} for layer ${layerName} answered with an unexpected body: ${describeIssues(result.error.issues)}`,
    { context: { operation, layerName } },
  );
}

interface FcResponse {
  status: number;
  headers: IncomingHttpHeaders;
  data: unknown;
}

interface SignedRequest {
  method: string;
  /** After the API version: `/layers/<name>/versions`. */
  path: string;
  query: Record<string, string>;
  body?: object | undefined;
}

/** Sends one request signed exactly as fc2 signs it (its headers, its Content-MD5, its signature). */
function sendSigned(client: FcClient, timeoutMs: number, request: SignedRequest): Promise<FcResponse> {
  const resource = `/${client.version}${request.path}`;
  const url = new URL(client.endpoint + resource);
  for (const [name, value] of Object.entries(request.query)) url.searchParams.set(name, value);
  const headers: Record<string, string> = { ...client.buildHeaders() };
  let payload: Buffer | undefined;
  if (request.body !== undefined) {
    payload = Buffer.from(JSON.stringify(request.body), 'utf8');
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
    // fc2's Content-MD5 is base64 of the hex digest, not of the raw one, and that is what FC checks.
    headers['content-md5'] = Buffer.from(createHash('md5').update(payload).digest('hex'), 'utf8').toString('base64');
  }
  headers.authorization = FcClient.getSignature(client.accessKeyID, client.accessKeySecret, request.method, resource, headers, null);
  return new Promise((resolve, reject) => {
    // Looked up at call time, not imported by name, so interceptors that patch the module see it.
    const outgoing = (url.protocol === 'https:' ? https : http).request(url, { method: request.method, headers, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = (response.headers['content-type'] ?? '').startsWith('application/json');
        let data: unknown = text;
        if (isJson && text !== '') {
          try {
            data = JSON.parse(text);
          } catch {
            // Kept as text: the status decides what happens, and the text is quoted in errors.
          }
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, data });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

async function call(operation: string, layerName: string, send: () => Promise<FcResponse>): Promise<FcResponse> {
  let response: FcResponse;
  try {
    response = await send();
  } catch (error) {
    // No HTTP answer at all: a timeout or a dropped connection. A create may still have happened.
    throw new TransientError(
      `FC ${operation} for layer ${layerName} got no answer: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, context: { operation, layerName, outcomeUnknown: true } },
    );
  }
  if (response.status >= 200 && response.status < 300) return response;
  throw classify(response, operation, layerName);
}

/** FC errors are `{ErrorCode, ErrorMessage}` or, as documented, `{errorCode, errorMessage}`. */
function classify(response: FcResponse, operation: string, layerName: string): PublisherError {
  const body = typeof response.data === 'object' && response.data !== null ? (response.data as Record<string, unknown>) : {};
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const code = text(body.ErrorCode) ?? text(body.errorCode) ?? text(body.Code) ?? text(body.code);
  const message =
    text(body.ErrorMessage) ?? text(body.errorMessage) ?? text(body.Message) ?? text(body.message) ??
    (typeof response.data === 'string' ? response.data.slice(0, 300) : undefined);
  const { status } = response;
  const requestId = response.headers['x-fc-request-id'];
  const context = { operation, layerName, status, fcCode: code, fcRequestId: typeof requestId === 'string' ? requestId : undefined };
  const quoted = `FC ${operation} for layer ${layerName} failed with HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  if (status === 408 || status === 429 || status >= 500 || (status === 409 && code === 'ConcurrentUpdateError') || /Throttl/i.test(code ?? '')) {
    return new TransientError(quoted, { context });
  }
  return new FcRejectedError(quoted, { context });
}
