import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import type { RolloutOutcome } from '../../src/rollout/outcome';
import { IN_PROCESS_FC_ENDPOINT, TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import { refuseCreatesForGood, type OtherRegion, type RegionalCloud, useMswRegionalCloud } from '../support/regional-cloud';
import { invoke, readResult } from '../publish/helpers';

/**
 * The rollout with `REGIONS` (docs/rollout.md): each region's functions move to that region's
 * version, read back with the official FC 3.0 client against each region's local FC.
 */
const env = useMswRegionalCloud();
const BASE = 'layers/left-pad';
const SHANGHAI = 'cn-shanghai';
const BEIJING = 'cn-beijing';
const FUNCTION_IN = { [TEST_REGION]: 'api-hz', [SHANGHAI]: 'api-sh', [BEIJING]: 'api-bj' } as const;
const PER_REGION_ROLLOUT = { [TEST_REGION]: ['api-*'], [SHANGHAI]: ['api-sh'], [BEIJING]: ['api-bj'] };

type RolledOut = PublishResult & { rollout?: RolloutOutcome };

function client(region: string): Fc2023Client {
  const host = region === TEST_REGION ? new URL(IN_PROCESS_FC_ENDPOINT).host : `${TEST_ACCOUNT_ID}.${region}.fc.aliyuncs.com`;
  return new Fc2023Client(new $OpenApiUtil.Config({ ...TEST_CREDENTIALS, endpoint: host, protocol: 'https', regionId: region }));
}

const arn = (region: string, version: number) => `acs:fc:${region}:${TEST_ACCOUNT_ID}:layers/left-pad/versions/${version}`;

async function layersOf(region: string): Promise<string[]> {
  const response = await client(region).getFunction(FUNCTION_IN[region as keyof typeof FUNCTION_IN], new fc2023.GetFunctionRequest({}));
  return (response.body?.layers ?? []).map((layer) => layer.arn ?? '');
}

function fcOf(cloud: RegionalCloud, region: string): OtherRegion['fc'] {
  return region === TEST_REGION ? cloud.home.fc : cloud.region(region).fc;
}

/** UpdateFunction calls FC acted on for `region`'s function, answered or not. */
function updatesIn(cloud: RegionalCloud, region: string): number {
  return fcOf(cloud, region).requests.entries.filter((request) => request.action === 'UpdateFunction' && request.status !== 429).length;
}

async function upload(cloud: RegionalCloud, seed: string, manifest: object) {
  await cloud.home.oss.putObject(TEST_BUCKET, `${BASE}.zip`, nodejsLayerZip(seed));
  await cloud.home.oss.putObject(TEST_BUCKET, `${BASE}.layer.json`, manifestBytes({ ...NODE_MANIFEST, ...manifest }));
  return cloud.home.oss.objectCreatedEvent(TEST_BUCKET, `${BASE}.zip`);
}

function deliver(cloud: RegionalCloud, event: unknown, options: { requestId?: string; timeoutSeconds?: number } = {}) {
  const settings = { REGIONS: cloud.regionsEnv, FC_API_VERSION: '2023-03-30', ROLLOUT_FUNCTIONS: 'api-*' };
  return invoke([event], { env: settings, ...options });
}

async function resultOf(cloud: RegionalCloud): Promise<RolledOut> {
  const read = await readResult(cloud.home, `${BASE}.result.json`);
  if (!read) throw new Error('no result written');
  return read as RolledOut;
}

/** v1 published in every region, and one function per region using its region's v1, made with the official client. */
async function functionsOnV1(cloud: RegionalCloud): Promise<void> {
  await deliver(cloud, await upload(cloud, 'v1', {}));
  for (const [region, functionName] of Object.entries(FUNCTION_IN)) {
    const body = new fc2023.CreateFunctionInput({ functionName, runtime: 'nodejs20', handler: 'index.handler', layers: [arn(region, 1)] });
    await client(region).createFunction(new fc2023.CreateFunctionRequest({ body }));
  }
}

const entry = (region: string, version: number, status = 'updated') => ({
  functionName: FUNCTION_IN[region as keyof typeof FUNCTION_IN],
  region,
  status,
  before: [arn(region, 1)],
  after: [arn(region, version)],
});

describe('rollout in every region of REGIONS', () => {
  it("moves each region's functions to that region's version, and the result names each with its region", async () => {
    const { cloud } = env;
    await functionsOnV1(cloud);

    await deliver(cloud, await upload(cloud, 'v2', { rollout: PER_REGION_ROLLOUT }));

    const result = await resultOf(cloud);
    expect(result).toMatchObject({ status: 'published', version: 2 });
    for (const region of Object.keys(FUNCTION_IN)) expect(await layersOf(region)).toEqual([arn(region, 2)]);
    expect(result.rollout?.functions).toEqual([entry(TEST_REGION, 2), entry(SHANGHAI, 2), entry(BEIJING, 2)]);
  });

  it('a list (not per region) names the same functions in every region', async () => {
    const { cloud } = env;
    await functionsOnV1(cloud);

    await deliver(cloud, await upload(cloud, 'v2', { rollout: ['api-*'] }));

    for (const region of Object.keys(FUNCTION_IN)) expect(await layersOf(region)).toEqual([arn(region, 2)]);
    expect((await resultOf(cloud)).rollout?.functions.map((f) => [f.region, f.functionName, f.status])).toEqual([
      [TEST_REGION, 'api-hz', 'updated'],
      [SHANGHAI, 'api-sh', 'updated'],
      [BEIJING, 'api-bj', 'updated'],
    ]);
  });

  it('a region refusing for good moves nothing there, and each function named there is failed with the reason', async () => {
    const { cloud } = env;
    await functionsOnV1(cloud);
    refuseCreatesForGood(cloud.region(BEIJING).fc);

    await deliver(cloud, await upload(cloud, 'v2', { rollout: PER_REGION_ROLLOUT }));

    expect(await layersOf(BEIJING)).toEqual([arn(BEIJING, 1)]);
    expect(updatesIn(cloud, BEIJING)).toBe(0);
    expect((await resultOf(cloud)).rollout?.functions).toEqual([
      entry(TEST_REGION, 2),
      entry(SHANGHAI, 2),
      { functionName: 'api-bj', region: BEIJING, status: 'failed', reason: 'the layer could not be published in cn-beijing (FcRejected): nothing moves there' },
    ]);
  });

  it('a region not published yet holds the rollout back everywhere; the delivery that publishes it there moves every function, once', async () => {
    const { cloud } = env;
    await functionsOnV1(cloud);
    const beijing = cloud.region(BEIJING).fc;
    beijing.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', status: 503, code: 'ServiceUnavailable', times: Infinity });

    const event = await upload(cloud, 'v2', { rollout: PER_REGION_ROLLOUT });
    await deliver(cloud, event);

    expect((await resultOf(cloud)).regions?.[BEIJING]).toMatchObject({ status: 'failed', error: { retryable: true } });
    expect((await resultOf(cloud)).rollout).toBeUndefined();
    for (const region of Object.keys(FUNCTION_IN)) {
      expect(await layersOf(region)).toEqual([arn(region, 1)]);
      expect(updatesIn(cloud, region)).toBe(0);
    }

    beijing.faults.clear();
    await deliver(cloud, event, { requestId: 'req-2' });

    expect((await resultOf(cloud)).rollout?.functions).toEqual([entry(TEST_REGION, 2), entry(SHANGHAI, 2), entry(BEIJING, 2)]);
    for (const region of Object.keys(FUNCTION_IN)) {
      expect(await layersOf(region)).toEqual([arn(region, 2)]);
      expect(updatesIn(cloud, region)).toBe(1);
    }
  });

  it('a region that stops answering after its update landed, then redeliveries and concurrent ones: one update per function and region, a complete result', async () => {
    const { cloud } = env;
    await functionsOnV1(cloud);
    // Shanghai's update lands but its answer is lost, and Shanghai answers no read-back: the delivery cannot settle it.
    const shanghai = cloud.region(SHANGHAI).fc;
    shanghai.faults.inject({ match: (t) => t.action === 'UpdateFunction', status: 503, code: 'ServiceUnavailable', afterHandling: true });
    shanghai.faults.inject({ match: (t) => t.action === 'GetFunction', nth: 3, status: 503, code: 'ServiceUnavailable', times: Infinity });

    const event = await upload(cloud, 'v2', { rollout: PER_REGION_ROLLOUT });
    await deliver(cloud, event, { timeoutSeconds: 20 });
    expect(await layersOf(TEST_REGION)).toEqual([arn(TEST_REGION, 2)]);
    expect((await resultOf(cloud)).rollout?.functions.map((f) => [f.functionName, f.status])).toEqual([
      ['api-hz', 'updated'],
      ['api-sh', 'failed'],
      ['api-bj', 'updated'],
    ]);
    shanghai.faults.clear();

    await deliver(cloud, event, { requestId: 'req-2' });
    await Promise.all([deliver(cloud, event, { requestId: 'req-3' }), deliver(cloud, event, { requestId: 'req-4' })]);

    for (const region of Object.keys(FUNCTION_IN)) {
      expect(await layersOf(region)).toEqual([arn(region, 2)]);
      expect(updatesIn(cloud, region)).toBe(1);
    }
    expect((await resultOf(cloud)).rollout?.functions).toEqual([entry(TEST_REGION, 2), entry(SHANGHAI, 2), entry(BEIJING, 2)]);
  }, 60_000);
});
