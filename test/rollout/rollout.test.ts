import { beforeEach, describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import type { RolloutOutcome } from '../../src/rollout/outcome';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_REGION, type TestCloud, useMswCloud } from '../support/cloud';
import { FakeFunctions } from '../support/fc3-functions';
import { readJson } from '../support/invariants';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { LAYER, RESULT_KEY, deliver, seedPair } from '../faults/scenario';
import { TEST_WEBHOOK_SECRET, startReceiver } from '../support/receiver';

/**
 * The rollout (docs/rollout.md): after a publish settles, the functions the manifest names and
 * ROLLOUT_FUNCTIONS allows move to the new version, through FC 3.0's function API; the publish
 * stays what it was whatever happens to them.
 */
const env = useMswCloud();
let fc: FakeFunctions;

beforeEach(() => {
  fc = new FakeFunctions();
  env.server.use(...fc.handlers());
});

const arn = (version: number, layer = LAYER) => `acs:fc:${TEST_REGION}:${TEST_ACCOUNT_ID}:layers/${layer}/versions/${version}`;
const OTHER = arn(3, 'other-layer');
const FC3 = { FC_API_VERSION: '2023-03-30', ROLLOUT_FUNCTIONS: 'api-*,worker' };

type RolledOut = PublishResult & { rollout?: RolloutOutcome };

async function publish(seed: string, manifest: object, options: { env?: Record<string, string>; requestId?: string; timeoutSeconds?: number } = {}) {
  const { zipEvent, manifestEvent } = await seedPair(env.cloud, { zip: nodejsLayerZip(seed), manifest: { ...NODE_MANIFEST, ...manifest } });
  const run = await deliver([zipEvent], { env: FC3, ...options });
  return { run, zipEvent, manifestEvent, result: (await readJson<RolledOut>(env.cloud, RESULT_KEY))! };
}

async function auditRecords(cloud: TestCloud, kind: string): Promise<Record<string, unknown>[]> {
  const keys = (await cloud.oss.listKeys(TEST_BUCKET, '_audit/records/')).sort();
  const records = await Promise.all(
    keys.map(async (key) => JSON.parse(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, key))!).toString('utf8')) as Record<string, unknown>),
  );
  return records.filter((record) => record.kind === kind);
}

describe('rollout', () => {
  it("replaces the layer's older ARN in place, keeping every other layer and their order; one audit record per function", async () => {
    await publish('v1', {});
    fc.seed('api-users', [OTHER, arn(1)]);
    fc.seed('api-orders', [arn(1)]);

    const { result } = await publish('v2', { rollout: ['api-*'] });

    expect(result).toMatchObject({ status: 'published', version: 2 });
    expect(fc.functions.get('api-users')!.layers).toEqual([OTHER, arn(2)]);
    expect(fc.functions.get('api-orders')!.layers).toEqual([arn(2)]);
    expect(result.rollout?.functions).toEqual(
      expect.arrayContaining([
        { functionName: 'api-users', status: 'updated', before: [OTHER, arn(1)], after: [OTHER, arn(2)] },
        { functionName: 'api-orders', status: 'updated', before: [arn(1)], after: [arn(2)] },
      ]),
    );
    const records = await auditRecords(env.cloud, 'rollout');
    expect(records.map((r) => r.functionName).sort()).toEqual(['api-orders', 'api-users']);
    expect(records[0]).toMatchObject({ layerName: LAYER, version: 2, status: 'updated', source: { key: 'layers/left-pad.zip' } });
  });

  it("a glob moves only functions that use the layer; a name moves one that does not; six layers are refused naming FC's limit", async () => {
    await publish('v1', {});
    fc.seed('api-static', [OTHER]);
    fc.seed('worker', [OTHER]);
    fc.seed('api-full', [arn(1, 'a'), arn(1, 'b'), arn(1, 'c'), arn(1, 'd'), arn(1, 'e')]);

    const { result } = await publish('v2', { rollout: ['api-*', 'worker'] });

    expect(fc.functions.get('worker')!.layers).toEqual([OTHER, arn(2)]);
    expect(fc.functions.get('api-static')!.layers).toEqual([OTHER]);
    const byName = Object.fromEntries(result.rollout!.functions.map((f) => [f.functionName, f]));
    expect(byName.worker).toMatchObject({ status: 'updated', after: [OTHER, arn(2)] });
    expect(byName['api-static']).toMatchObject({ status: 'skipped', reason: expect.stringContaining('only by a glob') });
    expect(byName['api-full']).toMatchObject({ status: 'skipped' });
    fc.seed('api-crowded', [arn(1, 'a'), arn(1, 'b'), arn(1, 'c'), arn(1, 'd'), arn(1, 'e')]);
    const third = await publish('v3', { rollout: ['api-crowded'] });
    expect(third.result.rollout!.functions[0]).toMatchObject({
      functionName: 'api-crowded',
      status: 'refused',
      reason: 'would hold 6 layers: FC allows at most 5 per function',
    });
    expect(fc.updates('api-crowded')).toBe(0);
  });

  it('a function outside ROLLOUT_FUNCTIONS or that does not exist is named, untouched, and the publish stays published', async () => {
    fc.seed('billing', [arn(1)]);

    const { result, run } = await publish('v1', { rollout: ['billing', 'api-ghost'] });

    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    expect(result.status).toBe('published');
    expect(result.rollout?.functions).toEqual([
      { functionName: 'billing', status: 'notAllowed', reason: 'ROLLOUT_FUNCTIONS does not allow billing for layers/left-pad.zip' },
      { functionName: 'api-ghost', status: 'missing', reason: 'no function api-ghost in this account and region' },
    ]);
    expect(fc.functions.get('billing')!.layers).toEqual([arn(1)]);
    expect(fc.calls.filter((call) => call.action === 'UpdateFunction')).toEqual([]);
  });

  it('ROLLOUT_FUNCTIONS entries with a key prefix apply only to zips under it', async () => {
    fc.seed('api-users', [arn(1)]);
    const { result } = await publish('v1', { rollout: ['api-users'] }, { env: { ...FC3, ROLLOUT_FUNCTIONS: 'other/=api-*' } });
    expect(result.rollout?.functions).toEqual([expect.objectContaining({ functionName: 'api-users', status: 'notAllowed' })]);
    const allowed = await publish('v2', { rollout: ['api-users'] }, { env: { ...FC3, ROLLOUT_FUNCTIONS: 'layers/=api-*' } });
    expect(allowed.result.rollout?.functions).toEqual([expect.objectContaining({ functionName: 'api-users', status: 'updated' })]);
  });

  it('under FC_API_VERSION 2021-04-06 the result says the rollout needs 2023-03-30, and nothing is called', async () => {
    fc.seed('api-users', [arn(1)]);
    const { result } = await publish('v1', { rollout: ['api-users'] }, { env: { ROLLOUT_FUNCTIONS: 'api-*' } });
    expect(result).toMatchObject({
      status: 'published',
      rollout: { layerName: LAYER, functions: [], error: 'rollout needs FC_API_VERSION=2023-03-30 (FC 3.0 functions); it is 2021-04-06' },
    });
    expect(fc.calls).toEqual([]);
  });

  it('never overwrites a change made between the read and the write: the function is left as the other person made it', async () => {
    await publish('v1', {});
    fc.seed('api-users', [arn(1)]);
    // Someone adds a layer right after the rollout's first read, before its write.
    const changeMeanwhile = () => void (fc.functions.get('api-users')!.layers = [arn(1), OTHER]);
    fc.faults.before = { action: 'GetFunction', run: () => (fc.faults.before = { action: 'GetFunction', run: changeMeanwhile }) };

    const { result } = await publish('v2', { rollout: ['api-users'] });

    expect(fc.functions.get('api-users')!.layers).toEqual([arn(1), OTHER]);
    expect(result.rollout?.functions[0]).toMatchObject({ functionName: 'api-users', status: 'conflict', after: [arn(1), OTHER] });
    expect(fc.updates('api-users')).toBe(0);
  });

  it('a throttled update and one whose answer was lost are read back before they are retried: one update each', async () => {
    await publish('v1', {});
    fc.seed('api-a', [arn(1)]);
    fc.seed('api-b', [arn(1)]);
    fc.faults.throttle = { action: 'UpdateFunction', times: 1 };

    await publish('v2', { rollout: ['api-a'] });
    fc.faults.loseAnswerOf = 'UpdateFunction';
    const { result } = await publish('v3', { rollout: ['api-b'] });

    expect(fc.functions.get('api-a')!.layers).toEqual([arn(2)]);
    // The throttled call did nothing; its retry did it.
    expect(fc.updates('api-a')).toBe(2);
    expect(fc.functions.get('api-b')!.layers).toEqual([arn(3)]);
    // The lost answer's update had landed: the read-back saw it, and no second update was sent.
    expect(fc.updates('api-b')).toBe(1);
    expect(result.rollout?.functions[0]).toMatchObject({ functionName: 'api-b', status: 'updated', before: [arn(1)], after: [arn(3)] });
  });

  it("redeliveries of the zip's and the manifest's events update each function once and repeat the complete rollout", async () => {
    await publish('v1', {});
    fc.seed('api-users', [arn(1)]);
    const first = await publish('v2', { rollout: ['api-users'] });

    await deliver([first.zipEvent], { env: FC3 });
    await deliver([first.manifestEvent], { env: FC3 });
    await Promise.all([deliver([first.zipEvent], { env: FC3 }), deliver([first.manifestEvent], { env: FC3 })]);

    expect(fc.updates('api-users')).toBe(1);
    const result = (await readJson<RolledOut>(env.cloud, RESULT_KEY))!;
    expect(result.rollout).toEqual(first.result.rollout);
    expect(await auditRecords(env.cloud, 'rollout')).toHaveLength(1);
  });

  it('a done.json that is not ours counts as absent: the redelivery finds the change made, updates nothing, and repeats the entry', async () => {
    await publish('v1', {});
    fc.seed('api-users', [arn(1)]);
    const first = await publish('v2', { rollout: ['api-users'] });
    const [done] = (await env.cloud.oss.listKeys(TEST_BUCKET, '_audit/uploads/')).filter((key) => key.endsWith('/rollout/cn-hangzhou/api-users/done.json'));
    await env.cloud.oss.putObject(TEST_BUCKET, done!, Buffer.from('{"status": "moved"}'));

    await deliver([first.zipEvent], { env: FC3 });

    expect(fc.updates('api-users')).toBe(1);
    expect((await readJson<RolledOut>(env.cloud, RESULT_KEY))!.rollout).toEqual(first.result.rollout);
    expect(await auditRecords(env.cloud, 'rollout')).toHaveLength(1);
  });

  it('a crash mid-rollout (after the update, before its outcome was recorded) is finished by the redelivery: one update, a complete result', async () => {
    await publish('v1', {});
    fc.seed('api-a', [arn(1)]);
    fc.seed('api-b', [arn(1)]);
    // The instance dies right after api-a's update reached FC: the invocation never records it.
    fc.faults.before = {
      action: 'UpdateFunction',
      run: () => {
        fc.faults.loseAnswerOf = 'UpdateFunction';
        fc.faults.throttle = { action: 'GetFunction', times: 1_000 };
      },
    };
    const crashed = await publish('v2', { rollout: ['api-a', 'api-b'] }, { timeoutSeconds: 20 });
    expect(crashed.result.status).toBe('published');
    fc.faults = {};

    await deliver([crashed.zipEvent], { env: FC3, timeoutSeconds: 60 });

    expect(fc.functions.get('api-a')!.layers).toEqual([arn(2)]);
    expect(fc.functions.get('api-b')!.layers).toEqual([arn(2)]);
    expect(fc.updates('api-a')).toBe(1);
    expect(fc.updates('api-b')).toBe(1);
    const result = (await readJson<RolledOut>(env.cloud, RESULT_KEY))!;
    expect(result.rollout?.functions.map((f) => [f.functionName, f.status, f.before])).toEqual([
      ['api-a', 'updated', [arn(1)]],
      ['api-b', 'updated', [arn(1)]],
    ]);
  }, 60_000);
});

describe('canary', () => {
  it('publishes a function version holding the new layer and sends the weight of the alias to it, the rest where it was', async () => {
    await publish('v1', {});
    fc.seed('api-users', [OTHER, arn(1)]);
    const served = fc.publishWithAlias('api-users', 'prod');

    const { result } = await publish('v2', { rollout: ['api-users'], canary: { alias: 'prod', weight: 0.1 } });

    const fn = fc.functions.get('api-users')!;
    const canaryVersion = fn.versions.at(-1)!;
    expect(canaryVersion.layers).toEqual([OTHER, arn(2)]);
    expect(fn.aliases.get('prod')).toEqual({ versionId: served, additionalVersionWeight: { [canaryVersion.versionId]: 0.1 } });
    expect(result.rollout?.functions[0]).toMatchObject({
      status: 'updated',
      canary: {
        alias: 'prod',
        weight: 0.1,
        functionVersion: canaryVersion.versionId,
        before: { versionId: served, additionalVersionWeight: {} },
        after: { versionId: served, additionalVersionWeight: { [canaryVersion.versionId]: 0.1 } },
      },
    });
  });

  it('the same layer version uploaded again (another upload) finds its canary set: no second function version, nothing to record or roll back', async () => {
    await publish('v1', {});
    fc.seed('api-users', [arn(1)]);
    const served = fc.publishWithAlias('api-users', 'prod');
    const canary = { alias: 'prod', weight: 0.1 };
    await publish('v2', { rollout: ['api-users'], canary });

    // The manifest's fields in another order: other bytes, so another upload of the same version.
    const again = await publish('v2', { canary, rollout: ['api-users'] });

    expect(again.result).toMatchObject({ status: 'unchanged', version: 2 });
    const fn = fc.functions.get('api-users')!;
    expect(fn.versions).toHaveLength(2);
    const canaryVersion = fn.versions.at(-1)!.versionId;
    expect(fn.aliases.get('prod')).toEqual({ versionId: served, additionalVersionWeight: { [canaryVersion]: 0.1 } });
    const entry = again.result.rollout?.functions[0];
    expect(entry).toMatchObject({
      status: 'current',
      canary: { functionVersion: canaryVersion, before: { versionId: served, additionalVersionWeight: { [canaryVersion]: 0.1 } } },
    });
    expect(entry?.canary?.after).toBeUndefined();
    // The first upload's record stays the last rollout's: rollback puts the alias back where it served alone.
    const records = await auditRecords(env.cloud, 'rollout');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ canary: { before: { versionId: served, additionalVersionWeight: {} } } });
  });

  it('a publish whose answer was lost is found again by its description: one function version, however often delivered', async () => {
    await publish('v1', {});
    fc.seed('api-users', [arn(1)]);
    fc.publishWithAlias('api-users', 'prod');
    fc.faults.loseAnswerOf = 'PublishFunctionVersion';

    const first = await publish('v2', { rollout: ['api-users'], canary: { alias: 'prod', weight: 0.25 } });
    await deliver([first.manifestEvent], { env: FC3 });

    const fn = fc.functions.get('api-users')!;
    expect(fn.versions).toHaveLength(2);
    expect(fn.aliases.get('prod')!.additionalVersionWeight).toEqual({ 2: 0.25 });
  });

  it('concurrent deliveries publish one function version and move the alias once', async () => {
    await publish('v1', {});
    fc.seed('api-users', [arn(1)]);
    const served = fc.publishWithAlias('api-users', 'prod');
    const manifest = { ...NODE_MANIFEST, rollout: ['api-users'], canary: { alias: 'prod', weight: 0.2 } };
    const { zipEvent, manifestEvent } = await seedPair(env.cloud, { zip: nodejsLayerZip('v2'), manifest });
    fc.faults.slow = { action: 'PublishFunctionVersion', ms: 1_500 };

    // Each delivery that finds the upload settled goes on to the rollout at once, beside the others.
    await Promise.all([deliver([zipEvent], { env: FC3 }), deliver([manifestEvent], { env: FC3 }), deliver([zipEvent], { env: FC3 })]);
    await deliver([manifestEvent], { env: FC3 });

    const fn = fc.functions.get('api-users')!;
    expect(fn.versions).toHaveLength(2);
    expect(fc.calls.filter((call) => call.action === 'PublishFunctionVersion')).toHaveLength(1);
    expect(fc.calls.filter((call) => call.action === 'UpdateAlias')).toHaveLength(1);
    expect(fn.aliases.get('prod')).toEqual({ versionId: served, additionalVersionWeight: { 2: 0.2 } });
    expect((await readJson<RolledOut>(env.cloud, RESULT_KEY))!.rollout?.functions).toEqual([
      expect.objectContaining({
        functionName: 'api-users',
        status: 'updated',
        canary: expect.objectContaining({ functionVersion: '2', after: { versionId: served, additionalVersionWeight: { 2: 0.2 } } }),
      }),
    ]);
  });

  it('an alias FC keeps throttling until the time runs out leaves the function pending; the redelivery moves the alias once', async () => {
    await publish('v1', {});
    fc.seed('api-users', [arn(1)]);
    const served = fc.publishWithAlias('api-users', 'prod');
    fc.faults.throttle = { action: 'UpdateAlias', times: 1_000 };

    const first = await publish('v2', { rollout: ['api-users'], canary: { alias: 'prod', weight: 0.1 } }, { timeoutSeconds: 8 });

    expect(first.result.rollout?.functions[0]).toMatchObject({ status: 'pending', reason: expect.stringContaining('its canary is not set yet') });
    expect(fc.functions.get('api-users')!.aliases.get('prod')).toEqual({ versionId: served, additionalVersionWeight: {} });
    fc.faults = {};

    await deliver([first.zipEvent], { env: FC3, timeoutSeconds: 60 });

    const fn = fc.functions.get('api-users')!;
    expect(fn.versions).toHaveLength(2);
    expect(fn.aliases.get('prod')).toEqual({ versionId: served, additionalVersionWeight: { 2: 0.1 } });
    expect(fc.updates('api-users')).toBe(1);
    expect((await readJson<RolledOut>(env.cloud, RESULT_KEY))!.rollout?.functions[0]).toMatchObject({
      status: 'updated',
      canary: { functionVersion: '2', after: { versionId: served, additionalVersionWeight: { 2: 0.1 } } },
    });
  }, 60_000);

  it('a missing alias is named and the function keeps its update', async () => {
    fc.seed('api-users', [OTHER]);
    const { result } = await publish('v1', { rollout: ['api-users'], canary: { alias: 'prod', weight: 0.5 } });
    expect(fc.functions.get('api-users')!.layers).toEqual([OTHER, arn(1)]);
    expect(result.rollout?.functions[0]).toMatchObject({
      status: 'updated',
      canary: { error: 'alias prod does not exist: create it on the version it serves, then upload again' },
    });
  });
});

describe('the rollout notice', () => {
  it('a rollout that moved functions is told once to the webhook, however often the events are delivered', async () => {
    const hook = await startReceiver();
    try {
      const notify = { ...FC3, NOTIFY_WEBHOOK_URL: `${hook.url}/hooks`, NOTIFY_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET };
      await publish('v1', {}, { env: notify });
      fc.seed('api-users', [arn(1)]);
      const { zipEvent, manifestEvent } = await publish('v2', { rollout: ['api-users'] }, { env: notify });
      for (const event of [manifestEvent, zipEvent]) await deliver([event], { env: notify });

      const bodies = hook.received.map((request) => JSON.parse(request.body) as { kind: string; regions: { version: number }[]; details?: unknown });
      expect(bodies.map((body) => body.kind)).toEqual(['published', 'published', 'rollout']);
      expect(bodies[2]).toMatchObject({
        kind: 'rollout',
        regions: [{ region: TEST_REGION, status: 'done', version: 2 }],
        details: { functions: ['api-users'] },
      });
    } finally {
      await hook.close();
    }
  });
});
