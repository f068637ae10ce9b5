import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChangeReport, ConsumerRow } from '../../src/cli/rollout';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { auditRecordKeys, fcFlags, ossFlags, publishThroughHandler, runCommand, useLoopbackCloud } from '../report/published-trail';

/**
 * `layer-publisher consumers`, `promote` and `rollback` against the local cloud over sockets: a
 * function made with the official FC 3.0 client, moved by a rollout with a canary on `prod`.
 */
const env = useLoopbackCloud();
const FC3 = { FC_API_VERSION: '2023-03-30', ROLLOUT_FUNCTIONS: 'api-*' };
const arn = (version: number) => `acs:fc:${TEST_REGION}:${TEST_ACCOUNT_ID}:layers/left-pad/versions/${version}`;

function client(): Fc2023Client {
  const url = new URL(env.cloud.fcEndpoint);
  return new Fc2023Client(new $OpenApiUtil.Config({ ...TEST_CREDENTIALS, endpoint: url.host, protocol: 'http', regionId: TEST_REGION }));
}

async function layersOf(qualifier?: string): Promise<string[]> {
  const response = await client().getFunction('api-users', new fc2023.GetFunctionRequest(qualifier === undefined ? {} : { qualifier }));
  return (response.body?.layers ?? []).map((layer) => layer.arn ?? '');
}

async function alias() {
  return (await client().getAlias('api-users', 'prod')).body!;
}

/** v1 published and used by api-users, whose version 1 is served by prod; then v2 rolled out with a 10 % canary. */
async function rolledOutWithCanary(): Promise<string> {
  const { cloud } = env;
  await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v1'), NODE_MANIFEST, FC3);
  await client().createFunction(
    new fc2023.CreateFunctionRequest({
      body: new fc2023.CreateFunctionInput({ functionName: 'api-users', runtime: 'nodejs20', handler: 'index.handler', layers: [arn(1)] }),
    }),
  );
  const served = (await client().publishFunctionVersion('api-users', new fc2023.PublishFunctionVersionRequest({ body: new fc2023.PublishVersionInput({}) })))
    .body!.versionId!;
  await client().createAlias('api-users', new fc2023.CreateAliasRequest({ body: new fc2023.CreateAliasInput({ aliasName: 'prod', versionId: served }) }));
  await publishThroughHandler(
    cloud,
    'layers/left-pad',
    nodejsLayerZip('v2'),
    { ...NODE_MANIFEST, rollout: ['api-users'], canary: { alias: 'prod', weight: 0.1 } },
    FC3,
  );
  return served;
}

const change = async (command: string, ...flags: string[]) => {
  const run = await runCommand(command, 'left-pad', ...ossFlags(env.cloud), ...fcFlags(env.cloud), ...flags);
  expect(run.err).toBe('');
  return run;
};

describe('layer-publisher promote and rollback', () => {
  it('promote --dry-run prints and changes nothing; promote moves prod fully; rollback restores v1 and prod, recorded with who ran them', async () => {
    const served = await rolledOutWithCanary();
    const canary = Object.keys((await alias()).additionalVersionWeight ?? {})[0]!;
    expect(await layersOf()).toEqual([arn(2)]);
    const records = (await auditRecordKeys(env.cloud)).length;

    const dry = await change('promote', '--dry-run');
    expect(dry.out).toContain(`api-users alias prod: version ${served} + 0.1 to version ${canary} -> version ${canary}`);
    expect(dry.out).toContain('dry run, would change');
    expect(await alias()).toMatchObject({ versionId: served, additionalVersionWeight: { [canary]: 0.1 } });
    expect(await auditRecordKeys(env.cloud)).toHaveLength(records);

    const promoted = await change('promote', '--json', '--actor', 'release-bot');
    expect(JSON.parse(promoted.out) as ChangeReport).toMatchObject({
      command: 'promote',
      layerName: 'left-pad',
      version: 2,
      actor: 'release-bot',
      dryRun: false,
    });
    expect(await alias()).toMatchObject({ versionId: canary });
    expect((await alias()).additionalVersionWeight ?? {}).toEqual({});

    const rolledBack = await change('rollback');
    expect(rolledBack.out).toContain(`api-users layers: ${arn(2)} -> ${arn(1)}`);
    expect(rolledBack.out).toContain(`api-users alias prod: version ${canary} -> version ${served}`);
    expect(rolledBack.out).toContain(`as access key ${TEST_CREDENTIALS.accessKeyId}`);
    expect(await layersOf()).toEqual([arn(1)]);
    expect(await alias()).toMatchObject({ versionId: served });

    const again = await change('rollback');
    expect(again.out).toContain(`api-users layers: not changed: no longer uses ${arn(2)}; left as it is`);
    expect(again.out).toContain('api-users alias prod: not changed: already as before');
    const written = await Promise.all(
      (await auditRecordKeys(env.cloud)).map(
        async (key) => JSON.parse(Buffer.from((await env.cloud.oss.readObject(TEST_BUCKET, key))!).toString('utf8')) as Record<string, unknown>,
      ),
    );
    expect(written.filter((r) => r.kind === 'promote' || r.kind === 'rollback').map((r) => [r.kind, r.what, r.actor])).toEqual([
      ['promote', 'alias', 'release-bot'],
      ['rollback', 'layers', `access key ${TEST_CREDENTIALS.accessKeyId}`],
      ['rollback', 'alias', `access key ${TEST_CREDENTIALS.accessKeyId}`],
    ]);
  });

  it('names a layer with no rollout in the trail', async () => {
    await publishThroughHandler(env.cloud, 'layers/left-pad', nodejsLayerZip('v1'), NODE_MANIFEST, FC3);
    const run = await runCommand('rollback', 'left-pad', ...ossFlags(env.cloud), ...fcFlags(env.cloud));
    expect(run.code).not.toBe(0);
    expect(run.err).toContain('no rollout of layer left-pad in the audit trail under _audit/records/');
  });
});

describe('layer-publisher consumers', () => {
  it('lists the function, its versions and the alias with their layer versions; --fail-behind exits 1 while any is behind', async () => {
    const served = await rolledOutWithCanary();
    const canary = Object.keys((await alias()).additionalVersionWeight ?? {})[0]!;

    const json = await runCommand('consumers', ...fcFlags(env.cloud), '--layer', 'left-pad', '--json');
    const rows = JSON.parse(json.out) as ConsumerRow[];
    expect(rows.map((row) => [row.version, row.kind, row.functionVersion ?? null, row.alias ?? null, row.weight ?? null, row.behind])).toEqual([
      [2, 'function', null, null, null, false],
      [2, 'functionVersion', canary, null, null, false],
      [2, 'alias', canary, 'prod', 0.1, false],
      [1, 'functionVersion', served, null, null, true],
      [1, 'alias', served, 'prod', 0.9, true],
    ]);
    const text = await runCommand('consumers', ...fcFlags(env.cloud), '--fail-behind');
    expect(text.code).toBe(1);
    expect(text.out).toContain(`api-users alias prod (0.9 to version ${served})`);
    await change('promote');
    const promoted = JSON.parse((await runCommand('consumers', ...fcFlags(env.cloud), '--json')).out) as ConsumerRow[];
    expect(promoted.filter((row) => row.kind === 'alias').map((row) => [row.version, row.weight])).toEqual([[2, 1]]);
  });

  it('the HTML report lists, per version, the functions, function versions and aliases that use it', async () => {
    const served = await rolledOutWithCanary();
    const canary = Object.keys((await alias()).additionalVersionWeight ?? {})[0]!;
    const dir = await mkdtemp(join(tmpdir(), 'rollout-report-'));
    try {
      const run = await runCommand('report', '--html', join(dir, 'report.html'), ...ossFlags(env.cloud), ...fcFlags(env.cloud));
      expect(run.code).toBe(0);
      const html = await readFile(join(dir, 'report.html'), 'utf8');
      expect(html).toContain(`<li>version 2: api-users, api-users version ${canary}, api-users alias prod (0.1 to version ${canary})</li>`);
      expect(html).toContain(`<li>version 1: api-users version ${served}, api-users alias prod (0.9 to version ${served})</li>`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
