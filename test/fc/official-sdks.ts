import Fc2021Client, * as fc2021 from '@alicloud/fc-open20210406';
import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import { Config } from '@alicloud/openapi-client';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { expect } from 'vitest';
import type { Credential } from '../../src/emulator';
import { TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';

export type OfficialApiVersion = '2021-04-06' | '2023-03-30';
export const OFFICIAL_API_VERSIONS: readonly OfficialApiVersion[] = ['2021-04-06', '2023-03-30'];

export interface OfficialLayerInput {
  bucket: string;
  key: string;
  compatibleRuntime: string[];
  description?: string;
  /** FC 3.0 only. */
  checksum?: string;
  license?: string;
}

/** The layer calls of Alibaba's official SDK for one API, answers as the SDK models them (`toMap()`). */
export interface OfficialFcClient {
  apiVersion: OfficialApiVersion;
  create(layerName: string, input: OfficialLayerInput): Promise<Record<string, unknown>>;
  list(layerName: string, startVersion: number, limit: number): Promise<{ layers?: Array<Record<string, unknown>>; nextVersion?: number }>;
  get(layerName: string, version: number): Promise<Record<string, unknown>>;
  delete(layerName: string, version: number): Promise<void>;
  putAcl(layerName: string, isPublic: boolean): Promise<void>;
  /** FC 3.0: the account's functions; 2021-04-06: those of `serviceName`. */
  listFunctions(serviceName: string | undefined, limit: number): Promise<Record<string, unknown>>;
  /** 2021-04-06 only. */
  listServices(limit: number): Promise<Record<string, unknown>>;
}

export interface OfficialClientOptions {
  /** `http://127.0.0.1:<port>` of a loopback server. */
  endpoint: string;
  credential?: Credential;
}

/** What the official SDKs throw for an HTTP error: the status, and the body FC sent as `data`. */
export interface OfficialSdkError extends Error {
  statusCode?: number;
  code?: string;
  data?: Record<string, unknown>;
}

export function officialClient(apiVersion: OfficialApiVersion, options: OfficialClientOptions): OfficialFcClient {
  const credential = options.credential ?? TEST_CREDENTIALS;
  const url = new URL(options.endpoint);
  const config = {
    accessKeyId: credential.accessKeyId,
    accessKeySecret: credential.accessKeySecret,
    securityToken: credential.securityToken,
    // The SDKs take a host, and the scheme apart.
    endpoint: url.host,
    protocol: url.protocol.replace(':', ''),
    regionId: TEST_REGION,
  };
  return apiVersion === '2021-04-06' ? fc2021Client(new Fc2021Client(new Config(config))) : fc2023Client(new Fc2023Client(new $OpenApiUtil.Config(config)));
}

function fc2021Client(client: Fc2021Client): OfficialFcClient {
  return {
    apiVersion: '2021-04-06',
    async create(layerName, input) {
      const code = new fc2021.Code({ ossBucketName: input.bucket, ossObjectName: input.key });
      const request = new fc2021.CreateLayerVersionRequest({ code, compatibleRuntime: input.compatibleRuntime, description: input.description });
      return (await client.createLayerVersion(layerName, request)).body.toMap();
    },
    async list(layerName, startVersion, limit) {
      return (await client.listLayerVersions(layerName, new fc2021.ListLayerVersionsRequest({ startVersion, limit }))).body.toMap();
    },
    async get(layerName, version) {
      return (await client.getLayerVersion(layerName, String(version))).body.toMap();
    },
    async delete(layerName, version) {
      await client.deleteLayerVersion(layerName, String(version));
    },
    async putAcl(layerName, isPublic) {
      await client.putLayerACL(layerName, new fc2021.PutLayerACLRequest({ public: isPublic }));
    },
    async listFunctions(serviceName, limit) {
      return (await client.listFunctions(serviceName ?? '', new fc2021.ListFunctionsRequest({ limit }))).body.toMap();
    },
    async listServices(limit) {
      return (await client.listServices(new fc2021.ListServicesRequest({ limit }))).body.toMap();
    },
  };
}

function fc2023Client(client: Fc2023Client): OfficialFcClient {
  return {
    apiVersion: '2023-03-30',
    async create(layerName, input) {
      const code = new fc2023.InputCodeLocation({ ossBucketName: input.bucket, ossObjectName: input.key, checksum: input.checksum });
      const body = new fc2023.CreateLayerVersionInput({
        code,
        compatibleRuntime: input.compatibleRuntime,
        description: input.description,
        license: input.license,
      });
      return (await client.createLayerVersion(layerName, new fc2023.CreateLayerVersionRequest({ body }))).body?.toMap() ?? {};
    },
    async list(layerName, startVersion, limit) {
      const request = new fc2023.ListLayerVersionsRequest({ startVersion: String(startVersion), limit });
      return (await client.listLayerVersions(layerName, request)).body?.toMap() ?? {};
    },
    async get(layerName, version) {
      return (await client.getLayerVersion(layerName, String(version))).body?.toMap() ?? {};
    },
    async delete(layerName, version) {
      await client.deleteLayerVersion(layerName, String(version));
    },
    async putAcl(layerName, isPublic) {
      await client.putLayerACL(layerName, new fc2023.PutLayerACLRequest({ acl: isPublic ? '1' : '0' }));
    },
    async listFunctions(_serviceName, limit) {
      return (await client.listFunctions(new fc2023.ListFunctionsRequest({ limit }))).body?.toMap() ?? {};
    },
    listServices() {
      return Promise.reject(new Error('FC 3.0 has no services'));
    },
  };
}

export async function officialFailure(call: Promise<unknown>): Promise<OfficialSdkError> {
  const error: unknown = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, 'the call should have failed').toBeInstanceOf(Error);
  return error as OfficialSdkError;
}

/** What the official SDK throws for an FC error: the status, and FC 3.0's code and message as the SDK parsed them. */
export async function refusal(call: Promise<unknown>): Promise<{ statusCode?: number; code?: string; message: string }> {
  const error = (await call.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as { statusCode?: number; code?: string; message: string } | undefined;
  if (error === undefined) throw new Error('the call was accepted');
  return { statusCode: error.statusCode, code: error.code, message: error.message };
}
