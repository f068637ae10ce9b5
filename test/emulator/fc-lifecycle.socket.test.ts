import Fc2021Client, * as fc2021 from '@alicloud/fc-open20210406';
import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import FcClient from '@alicloud/fc2/lib/client.js';
import { Config } from '@alicloud/openapi-client';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_ACCOUNT_ID, TEST_CREDENTIALS, TEST_REGION, type LoopbackCloud, startLoopbackCloud } from '../support/cloud';
import { patternBytes } from '../support/independent';

/**
 * PutLayerACL and the function listings of the FC emulator, driven by Alibaba's own clients over a
 * loopback socket in new-account mode: the official SDKs of 2021-04-06 and 2023-03-30, and fc2.
 */
let cloud: LoopbackCloud;
beforeEach(async () => {
  cloud = await startLoopbackCloud();
});
afterEach(async () => {
  await cloud.close();
});

function sdkConfig() {
  const url = new URL(cloud.fcEndpoint);
  return { ...TEST_CREDENTIALS, endpoint: url.host, protocol: url.protocol.replace(':', ''), regionId: TEST_REGION };
}

function fc2(): {
  putLayerACL(name: string, options: Record<string, string>): Promise<unknown>;
  listServices(options: Record<string, string | number>): Promise<{ data: { services: Array<{ serviceName: string }>; nextToken?: string } }>;
  listFunctions(service: string, options: Record<string, string | number>): Promise<{ data: { functions: Array<Record<string, unknown>> } }>;
} {
  const client = new FcClient(TEST_ACCOUNT_ID, {
    accessKeyID: TEST_CREDENTIALS.accessKeyId,
    accessKeySecret: TEST_CREDENTIALS.accessKeySecret,
    securityToken: TEST_CREDENTIALS.securityToken,
    region: TEST_REGION,
    endpoint: cloud.fcEndpoint,
    timeout: 10_000,
  });
  client.version = '2016-08-15';
  // The runtime object has these; the shared declaration (src/fc/fc2.d.ts) models only what src uses.
  return client as unknown as ReturnType<typeof fc2>;
}

/** Two layers' versions, and functions that use some of them, in two services. */
function seed() {
  const a1 = cloud.fc.seedVersion('alpha', { code: patternBytes(50, 1) });
  const a2 = cloud.fc.seedVersion('alpha', { code: patternBytes(50, 2) });
  const b1 = cloud.fc.seedVersion('beta', { code: patternBytes(50, 3) });
  cloud.fc.seedFunction({
    serviceName: 'web',
    functionName: 'render',
    layers: [
      { layerName: 'alpha', version: 1 },
      { layerName: 'beta', version: 1 },
    ],
  });
  cloud.fc.seedFunction({ serviceName: 'web', functionName: 'plain', layers: [] });
  cloud.fc.seedFunction({ serviceName: 'jobs', functionName: 'cron', layers: [{ layerName: 'alpha', version: 2 }] });
  return { a1, a2, b1 };
}

describe('PutLayerACL', () => {
  it('2021-04-06 SDK: public=true makes every version public, and later versions too', async () => {
    cloud.fc.seedVersion('alpha', { code: patternBytes(10, 1) });
    await new Fc2021Client(new Config(sdkConfig())).putLayerACL('alpha', new fc2021.PutLayerACLRequest({ public: true }));
    cloud.fc.seedVersion('alpha', { code: patternBytes(10, 2) });
    expect(cloud.fc.versions('alpha').map((v) => v.acl)).toEqual([1, 1]);
    expect(cloud.fc.requests.entries.at(-1)).toMatchObject({ action: 'PutLayerACL', query: { public: 'true' }, status: 200 });
  });

  it('2023-03-30 SDK: acl=1 then acl=0; a value other than 0 or 1 is refused', async () => {
    cloud.fc.seedVersion('alpha', { code: patternBytes(10, 1) });
    const client = new Fc2023Client(new $OpenApiUtil.Config(sdkConfig()));
    await client.putLayerACL('alpha', new fc2023.PutLayerACLRequest({ acl: '1' }));
    expect(cloud.fc.versions('alpha').map((v) => v.acl)).toEqual([1]);
    await client.putLayerACL('alpha', new fc2023.PutLayerACLRequest({ acl: '0' }));
    expect(cloud.fc.versions('alpha').map((v) => v.acl)).toEqual([0]);
    const refused = await client
      .putLayerACL('alpha', new fc2023.PutLayerACLRequest({ acl: 'yes' }))
      .catch((error: unknown) => error as { statusCode?: number; code?: string });
    expect(refused).toMatchObject({ statusCode: 400, code: 'InvalidArgument' });
  });

  it('fc2 (2016-08-15): public=true; a layer with no version is not found (404: fc2 reads only a PascalCase ErrorCode)', async () => {
    cloud.fc.seedVersion('alpha', { code: patternBytes(10, 1) });
    await fc2().putLayerACL('alpha', { public: 'true' });
    expect(cloud.fc.versions('alpha').map((v) => v.acl)).toEqual([1]);
    await expect(fc2().putLayerACL('nothing-here', { public: 'true' })).rejects.toThrow(/failed with 404/);
  });
});

describe('ListFunctions with the layers each function names', () => {
  it('2023-03-30 SDK: every function, its layers as acs:fc ARNs, page by page through nextToken', async () => {
    const { a1, b1, a2 } = seed();
    const client = new Fc2023Client(new $OpenApiUtil.Config(sdkConfig()));
    const first = (await client.listFunctions(new fc2023.ListFunctionsRequest({ limit: 2 }))).body!;
    expect(first.nextToken).toEqual(expect.any(String));
    const second = (await client.listFunctions(new fc2023.ListFunctionsRequest({ limit: 2, nextToken: first.nextToken }))).body!;
    expect(second.nextToken).toBeUndefined();
    const functions = [...(first.functions ?? []), ...(second.functions ?? [])];
    expect(functions.map((f) => [f.functionName, f.layers?.map((layer) => layer.arn)])).toEqual([
      ['render', [a1.arnV2, b1.arnV2]],
      ['plain', []],
      ['cron', [a2.arnV2]],
    ]);
  });

  it("2021-04-06 SDK: services, then each service's functions, with legacy ARNs and layersArnV2", async () => {
    const { a1, b1, a2 } = seed();
    const client = new Fc2021Client(new Config(sdkConfig()));
    const services = (await client.listServices(new fc2021.ListServicesRequest({ limit: 100 }))).body.services ?? [];
    expect(services.map((s) => s.serviceName)).toEqual(['web', 'jobs']);
    const web = (await client.listFunctions('web', new fc2021.ListFunctionsRequest({ limit: 100 }))).body.functions ?? [];
    expect(web.map((f) => [f.functionName, f.layers, f.layersArnV2])).toEqual([
      ['render', [a1.arn, b1.arn], [a1.arnV2, b1.arnV2]],
      ['plain', [], []],
    ]);
    const jobs = (await client.listFunctions('jobs', new fc2021.ListFunctionsRequest({}))).body.functions ?? [];
    expect(jobs.map((f) => f.layers)).toEqual([[a2.arn]]);
  });

  it('fc2 (2016-08-15): listServices and listFunctions; an unknown service is not found', async () => {
    const { a2 } = seed();
    expect((await fc2().listServices({ limit: 1 })).data).toMatchObject({ services: [{ serviceName: 'web' }], nextToken: expect.any(String) });
    expect((await fc2().listFunctions('jobs', {})).data.functions).toEqual([{ functionName: 'cron', layers: [a2.arn], layersArnV2: [a2.arnV2] }]);
    await expect(fc2().listFunctions('nowhere', {})).rejects.toThrow(/failed with 404.*service nowhere does not exist/);
  });
});
