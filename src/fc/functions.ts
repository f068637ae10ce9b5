import * as z from 'zod/mini';
import { FcRejectedError } from '../errors';
import type { FcAction, FcCall, FcResponse, FcTransport } from './http';
import { call, pages, parseResponse, type FcLayersOptions } from './layer-api';

/** A function's configuration, or one published version of it (`qualifier`), as GetFunction describes it. */
export interface FunctionConfig {
  functionName: string;
  /** The layer version ARNs in the order FC mounts them. */
  layers: string[];
  lastModifiedTime: string | undefined;
}

export interface FunctionVersion {
  versionId: string;
  description: string;
  createdTime: string | undefined;
}

/** An alias: the version it serves, and the share of traffic other versions get (a canary). */
export interface FunctionAlias {
  aliasName: string;
  versionId: string;
  additionalVersionWeight: Record<string, number>;
}

export type AliasTarget = Omit<FunctionAlias, 'aliasName'>;

/**
 * FC 3.0's function API (2023-03-30) as the rollout, `promote`, `rollback`, `consumers` and retention
 * use it. Only FC 3.0 has functions without services, `PublishFunctionVersion` and weighted aliases
 * in one shape; under the older APIs the rollout says it needs `2023-03-30` instead (docs/rollout.md).
 */
export interface FunctionsApi {
  /** Undefined when the function (or that version of it) does not exist. */
  get(functionName: string, qualifier?: string): Promise<FunctionConfig | undefined>;
  /** Every function with its layers, read from ListFunctions; `prefix` narrows the listing FC side. */
  list(prefix: string): Promise<FunctionConfig[]>;
  updateLayers(functionName: string, layers: string[]): Promise<FunctionConfig>;
  publishVersion(functionName: string, description: string): Promise<FunctionVersion>;
  /** Empty when the function does not exist (deleted since it was listed). */
  versions(functionName: string): Promise<FunctionVersion[]>;
  /** Undefined when the alias does not exist. */
  getAlias(functionName: string, aliasName: string): Promise<FunctionAlias | undefined>;
  /** Empty when the function does not exist. */
  aliases(functionName: string): Promise<FunctionAlias[]>;
  /** UpdateAlias; CreateAlias when `create` (an alias the rollback restores after it was removed). */
  putAlias(functionName: string, aliasName: string, target: AliasTarget, create?: boolean): Promise<FunctionAlias>;
}

/** The API version the function API needs: what a rollout under another FC_API_VERSION reports. */
export const FUNCTIONS_API_VERSION = '2023-03-30';

export function createFcFunctions(options: Omit<FcLayersOptions, 'apiVersion'>): FunctionsApi {
  const endpoint = options.endpoint ?? new URL(`https://${options.accountId}.${options.region}-internal.fc.aliyuncs.com`);
  // As for the layer API: the signer and node:https load with the first call, so an event that
  // moves no function never pays for them (test/bundle/cold-start.test.ts).
  let signing: Promise<FcTransport> | undefined;
  const connect = () =>
    (signing ??= import('./acs3-layers').then(({ acs3Transport }) => acs3Transport({ ...options, endpoint, apiVersion: FUNCTIONS_API_VERSION })));
  return functionsApi((request) => connect().then((transport) => transport(request)));
}

// FC 3.0 lists a function's layers as `FunctionLayer {arn, size}`.
const functionSchema = z.looseObject({
  functionName: z.string(),
  layers: z.optional(z.nullable(z.array(z.looseObject({ arn: z.string() })))),
  lastModifiedTime: z.optional(z.nullable(z.string())),
});

const versionSchema = z.looseObject({
  versionId: z.string(),
  description: z.optional(z.nullable(z.string())),
  createdTime: z.optional(z.nullable(z.string())),
});

const aliasSchema = z.looseObject({
  aliasName: z.string(),
  versionId: z.string(),
  additionalVersionWeight: z.optional(z.nullable(z.record(z.string(), z.number()))),
});

function functionsApi(transport: FcTransport): FunctionsApi {
  const send = (action: FcAction, functionName: string | undefined, request: Omit<FcCall, 'action'>): Promise<FcResponse> =>
    call(action, undefined, () => transport({ action, ...request }), functionName === undefined ? '' : ` for function ${functionName}`);
  /** A 404 is an answer here: the function, version or alias is not there. */
  const absentOn404 = <T>(promise: Promise<T>): Promise<T | undefined> =>
    promise.catch((error: unknown) => {
      if (error instanceof FcRejectedError && error.context.status === 404) return undefined;
      throw error;
    });
  const toFunction = (data: unknown, action: FcAction): FunctionConfig => {
    const parsed = parseResponse(functionSchema, data, action, undefined);
    return {
      functionName: parsed.functionName,
      layers: (parsed.layers ?? []).map((layer) => layer.arn),
      lastModifiedTime: parsed.lastModifiedTime ?? undefined,
    };
  };
  const toVersion = (data: unknown, action: FcAction): FunctionVersion => {
    const parsed = parseResponse(versionSchema, data, action, undefined);
    return { versionId: parsed.versionId, description: parsed.description ?? '', createdTime: parsed.createdTime ?? undefined };
  };
  const toAlias = (data: unknown, action: FcAction): FunctionAlias => {
    const parsed = parseResponse(aliasSchema, data, action, undefined);
    return { aliasName: parsed.aliasName, versionId: parsed.versionId, additionalVersionWeight: parsed.additionalVersionWeight ?? {} };
  };
  const listed = (action: FcAction, functionName: string | undefined, segments: string[], extra: Record<string, string> = {}) =>
    pages(action, (query) => send(action, functionName, { method: 'GET', segments, query: { ...query, ...extra } }).then((response) => response.data));
  return {
    async get(functionName, qualifier) {
      const query: Record<string, string> = qualifier === undefined ? {} : { qualifier };
      const response = await absentOn404(send('GetFunction', functionName, { method: 'GET', segments: ['functions', functionName], query }));
      return response === undefined ? undefined : toFunction(response.data, 'GetFunction');
    },
    async list(prefix) {
      const items = await listed('ListFunctions', undefined, ['functions'], prefix === '' ? {} : { prefix });
      return items.map((item) => toFunction(item, 'ListFunctions'));
    },
    async updateLayers(functionName, layers) {
      const response = await send('UpdateFunction', functionName, { method: 'PUT', segments: ['functions', functionName], query: {}, body: { layers } });
      return toFunction(response.data, 'UpdateFunction');
    },
    async publishVersion(functionName, description) {
      const response = await send('PublishFunctionVersion', functionName, {
        method: 'POST',
        segments: ['functions', functionName, 'versions'],
        query: {},
        body: { description },
      });
      return toVersion(response.data, 'PublishFunctionVersion');
    },
    async versions(functionName) {
      const items = await absentOn404(listed('ListFunctionVersions', functionName, ['functions', functionName, 'versions']));
      return (items ?? []).map((item) => toVersion(item, 'ListFunctionVersions'));
    },
    async getAlias(functionName, aliasName) {
      const response = await absentOn404(
        send('GetAlias', functionName, { method: 'GET', segments: ['functions', functionName, 'aliases', aliasName], query: {} }),
      );
      return response === undefined ? undefined : toAlias(response.data, 'GetAlias');
    },
    async aliases(functionName) {
      const items = await absentOn404(listed('ListAliases', functionName, ['functions', functionName, 'aliases']));
      return (items ?? []).map((item) => toAlias(item, 'ListAliases'));
    },
    async putAlias(functionName, aliasName, target, create = false) {
      const body = { versionId: target.versionId, additionalVersionWeight: target.additionalVersionWeight };
      const response = create
        ? await send('CreateAlias', functionName, { method: 'POST', segments: ['functions', functionName, 'aliases'], query: {}, body: { aliasName, ...body } })
        : await send('UpdateAlias', functionName, { method: 'PUT', segments: ['functions', functionName, 'aliases', aliasName], query: {}, body });
      return toAlias(response.data, create ? 'CreateAlias' : 'UpdateAlias');
    },
  };
}
