import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import type { RolloutOutcome } from '../../src/rollout/outcome';
import { IN_PROCESS_FC_ENDPOINT, TEST_ACCOUNT_ID, TEST_CREDENTIALS, TEST_REGION, useMswCloud } from '../support/cloud';
import { readJson } from '../support/invariants';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { LAYER, RESULT_KEY, deliver, seedPair } from '../faults/scenario';

/**
 * The rollout against the local FC, as a new user tries it: a function made and read back with the
 * official FC 3.0 client (@alicloud/fc20230330), a manifest naming it, then a canary on `prod`.
 */
const env = useMswCloud();
const FC3 = { FC_API_VERSION: '2023-03-30', ROLLOUT_FUNCTIONS: 'api-*' };
const arn = (version: number, layer = LAYER) => `acs:fc:${TEST_REGION}:${TEST_ACCOUNT_ID}:layers/${layer}/versions/${version}`;

function client(): Fc2023Client {
  return new Fc2023Client(
    new $OpenApiUtil.Config({ ...TEST_CREDENTIALS, endpoint: new URL(IN_PROCESS_FC_ENDPOINT).host, protocol: 'https', regionId: TEST_REGION }),
  );
}

async function layersOf(functionName: string, qualifier?: string): Promise<string[]> {
  const response = await client().getFunction(functionName, new fc2023.GetFunctionRequest(qualifier === undefined ? {} : { qualifier }));
  return (response.body?.layers ?? []).map((layer) => layer.arn ?? '');
}

async function publish(seed: string, manifest: object) {
  const { zipEvent } = await seedPair(env.cloud, { zip: nodejsLayerZip(seed), manifest: { ...NODE_MANIFEST, ...manifest } });
  const run = await deliver([zipEvent], { env: FC3 });
  return { run, result: (await readJson<PublishResult & { rollout?: RolloutOutcome }>(env.cloud, RESULT_KEY))! };
}

describe('rollout on the local FC, seen through the official FC 3.0 client', () => {
  it('moves a function from v1 to v2, then a canary sends 0.1 of prod to a function version holding v3', async () => {
    await publish('v1', {});
    const body = new fc2023.CreateFunctionInput({ functionName: 'api-users', runtime: 'nodejs20', handler: 'index.handler', layers: [arn(1)] });
    await client().createFunction(new fc2023.CreateFunctionRequest({ body }));

    const second = await publish('v2', { rollout: ['api-users'] });

    expect(second.result).toMatchObject({
      status: 'published',
      version: 2,
      rollout: { functions: [{ functionName: 'api-users', status: 'updated', before: [arn(1)], after: [arn(2)] }] },
    });
    expect(await layersOf('api-users')).toEqual([arn(2)]);

    const served = (
      await client().publishFunctionVersion(
        'api-users',
        new fc2023.PublishFunctionVersionRequest({ body: new fc2023.PublishVersionInput({ description: 'release' }) }),
      )
    ).body!.versionId!;
    await client().createAlias('api-users', new fc2023.CreateAliasRequest({ body: new fc2023.CreateAliasInput({ aliasName: 'prod', versionId: served }) }));

    const third = await publish('v3', { rollout: ['api-users'], canary: { alias: 'prod', weight: 0.1 } });

    const alias = (await client().getAlias('api-users', 'prod')).body!;
    const canaryVersion = Object.keys(alias.additionalVersionWeight ?? {})[0]!;
    expect(alias).toMatchObject({ versionId: served, additionalVersionWeight: { [canaryVersion]: 0.1 } });
    expect(await layersOf('api-users', canaryVersion)).toEqual([arn(3)]);
    expect(await layersOf('api-users', served)).toEqual([arn(2)]);
    expect(third.result.rollout?.functions[0]).toMatchObject({ status: 'updated', canary: { functionVersion: canaryVersion, before: { versionId: served } } });
  });

  it('retention keeps a version that only a published function version or an alias uses, naming it', async () => {
    await publish('v1', {});
    const body = new fc2023.CreateFunctionInput({ functionName: 'api-users', runtime: 'nodejs20', handler: 'index.handler', layers: [arn(1)] });
    await client().createFunction(new fc2023.CreateFunctionRequest({ body }));
    const pinned = (await client().publishFunctionVersion('api-users', new fc2023.PublishFunctionVersionRequest({ body: new fc2023.PublishVersionInput({}) })))
      .body!.versionId!;
    await client().createAlias('api-users', new fc2023.CreateAliasRequest({ body: new fc2023.CreateAliasInput({ aliasName: 'prod', versionId: pinned }) }));
    await publish('v2', { rollout: ['api-users'] });

    const third = await publish('v3', { retain: 1 });

    expect(await layersOf('api-users')).toEqual([arn(2)]);
    expect(third.result.retention).toEqual({ keep: 1, kept: [1, 2], deleted: [], failed: [] });
    expect(env.cloud.fc.versions(LAYER).map((v) => v.version)).toEqual([1, 2, 3]);
    const keys = await env.cloud.oss.listKeys('team-layers', '_audit/records/');
    const reasons = await Promise.all(
      keys.map(async (key) => JSON.parse(Buffer.from((await env.cloud.oss.readObject('team-layers', key))!).toString('utf8')) as Record<string, unknown>),
    );
    expect(reasons.filter((r) => r.kind === 'kept' && r.version === 1).map((r) => r.reason)).toEqual([
      `in use by api-users version ${pinned}, api-users alias prod`,
    ]);
  });
});
