import FcClient from '@alicloud/fc2/lib/client.js';
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

/** The only file that knows @alicloud/fc2: signing stays inside the SDK (alibaba-cloud.md §3.2). */
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

  return {
    async create(input: CreateLayerVersionInput) {
      const body: Record<string, unknown> = {
        Code: { ossBucketName: input.ossBucketName, ossObjectName: input.ossObjectName },
        compatibleRuntime: input.compatibleRuntime,
      };
      if (input.description !== undefined) body.description = input.description;
      const response = await call('CreateLayerVersion', input.layerName, () =>
        client.publishLayerVersion(input.layerName, body),
      );
      return toLayerVersion(response.data, 'CreateLayerVersion', input.layerName);
    },

    async newest(layerName, limit) {
      const newest: LayerVersion[] = [];
      let startVersion = 1;
      for (;;) {
        const response = await call('ListLayerVersions', layerName, () =>
          client.listLayerVersions(layerName, { startVersion, limit: PAGE_SIZE }),
        ).catch((error: unknown) => {
          if (error instanceof FcRejectedError && error.context.status === 404) return undefined;
          throw error;
        });
        if (response === undefined) return [];
        const page = parseResponse(listSchema, response.data, 'ListLayerVersions', layerName);
        for (const item of page.layers ?? []) newest.push(toLayerVersion(item, 'ListLayerVersions', layerName));
        newest.sort((a, b) => b.version - a.version);
        newest.splice(limit);
        const next = page.nextVersion;
        // A next version that does not move forward would loop forever on a misbehaving endpoint.
        if (next === undefined || next === null || next <= startVersion) return newest;
        startVersion = next;
      }
    },

    async delete(layerName, version) {
      await call('DeleteLayerVersion', layerName, () => client.deleteLayerVersion(layerName, version));
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
  headers: Record<string, string | undefined>;
  data: unknown;
}

async function call(operation: string, layerName: string, send: () => Promise<FcResponse>): Promise<FcResponse> {
  try {
    return await send();
  } catch (error) {
    throw translate(error, operation, layerName);
  }
}

/**
 * fc2 errors carry no status: it is only in the message ("POST /layers/x/versions failed with 429.
 * requestid: …, message: …."), and `code` only when FC answered PascalCase JSON (alibaba-cloud.md §0.8).
 */
function translate(error: unknown, operation: string, layerName: string): PublisherError {
  const message = error instanceof Error ? error.message : String(error);
  const status = Number(/failed with (\d{3})\./.exec(message)?.[1] ?? NaN);
  const fcCode = (error as { code?: unknown } | null)?.code;
  const code = typeof fcCode === 'string' && fcCode !== 'undefined' ? fcCode : undefined;
  const fcMessage = /message: (.*)\.$/s.exec(message)?.[1];
  const requestId = /requestid: ([^,]*),/.exec(message)?.[1];
  const context = { operation, layerName, status: Number.isNaN(status) ? undefined : status, fcCode: code, fcRequestId: requestId };
  if (Number.isNaN(status)) {
    // No HTTP answer at all: a timeout or a dropped connection. A create may still have happened.
    return new TransientError(`FC ${operation} for layer ${layerName} got no answer: ${message}`, {
      cause: error,
      context: { ...context, outcomeUnknown: true },
    });
  }
  const quoted = `FC ${operation} for layer ${layerName} failed with HTTP ${status}${code ? ` ${code}` : ''}: ${fcMessage ?? message}`;
  if (status === 408 || status === 429 || status >= 500 || (status === 409 && code === 'ConcurrentUpdateError') || /Throttl/i.test(code ?? '')) {
    return new TransientError(quoted, { cause: error, context });
  }
  return new FcRejectedError(quoted, { cause: error, context });
}
