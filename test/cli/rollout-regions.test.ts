import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeReport, ConsumerRow } from '../../src/cli/rollout';
import { createFcEmulator, type LoopbackServer, serve } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { type RegionOss, startRegionOss } from '../regions/region-clouds';
import { fcFlags, ossFlags, publishThroughHandler, runCommandWith, useLoopbackCloud } from '../report/published-trail';

/**
 * `layer-publisher promote`, `rollback` and `consumers` with REGIONS: a rollout with a canary in the
 * home region and in cn-shanghai (each its own local OSS and FC on loopback), then the commands act
 * in both, print per region, and change nothing anywhere with --dry-run. Functions are made and read
 * back with the official FC 3.0 client.
 */
const env = useLoopbackCloud();
const SHANGHAI = 'cn-shanghai';
const FUNCTION_IN: Record<string, string> = { [TEST_REGION]: 'api-hz', [SHANGHAI]: 'api-sh' };

let shanghai: { oss: RegionOss; fcServer: LoopbackServer };

beforeEach(async () => {
  const oss = await startRegionOss(SHANGHAI, 'team-layers-sh');
  const fc = createFcEmulator({
    accountId: TEST_ACCOUNT_ID,
    region: SHANGHAI,
    credentials: [TEST_CREDENTIALS],
    newAccount: true,
    readObject: (bucket, key) => oss.oss.readObject(bucket, key),
  });
  shanghai = { oss, fcServer: await serve(fc.handle) };
});

afterEach(async () => {
  await shanghai.oss.server.close();
  await shanghai.fcServer.close();
});

/** REGIONS and the endpoints of cn-shanghai, as `npm start -- --regions cn-shanghai` gives the function and the CLI. */
function regionsEnv(): Record<string, string> {
  return {
    REGIONS: `${SHANGHAI}=team-layers-sh`,
    REGION_OSS_ENDPOINTS: `${SHANGHAI}=${shanghai.oss.server.url}`,
    REGION_FC_ENDPOINTS: `${SHANGHAI}=${shanghai.fcServer.url}`,
  };
}

const FC3 = () => ({ FC_API_VERSION: '2023-03-30', ROLLOUT_FUNCTIONS: 'api-*', ...regionsEnv() });
const arn = (region: string, version: number) => `acs:fc:${region}:${TEST_ACCOUNT_ID}:layers/left-pad/versions/${version}`;

function client(region: string): Fc2023Client {
  const url = new URL(region === TEST_REGION ? env.cloud.fcEndpoint : shanghai.fcServer.url);
  return new Fc2023Client(new $OpenApiUtil.Config({ ...TEST_CREDENTIALS, endpoint: url.host, protocol: 'http', regionId: region }));
}

async function layersOf(region: string): Promise<string[]> {
  const response = await client(region).getFunction(FUNCTION_IN[region]!, new fc2023.GetFunctionRequest({}));
  return (response.body?.layers ?? []).map((layer) => layer.arn ?? '');
}

async function alias(region: string) {
  const body = (await client(region).getAlias(FUNCTION_IN[region]!, 'prod')).body!;
  return { versionId: body.versionId, weights: body.additionalVersionWeight ?? {} };
}

/** v1 everywhere, each region's function on it with prod on its version 1; then v2 rolled out in both with a 10 % canary. */
async function rolledOutInBothRegions(): Promise<void> {
  await publishThroughHandler(env.cloud, 'layers/left-pad', nodejsLayerZip('v1'), NODE_MANIFEST, FC3());
  for (const [region, functionName] of Object.entries(FUNCTION_IN)) {
    const body = new fc2023.CreateFunctionInput({ functionName, runtime: 'nodejs20', handler: 'index.handler', layers: [arn(region, 1)] });
    await client(region).createFunction(new fc2023.CreateFunctionRequest({ body }));
    const published = await client(region).publishFunctionVersion(
      functionName,
      new fc2023.PublishFunctionVersionRequest({ body: new fc2023.PublishVersionInput({}) }),
    );
    const aliasBody = new fc2023.CreateAliasInput({ aliasName: 'prod', versionId: published.body!.versionId! });
    await client(region).createAlias(functionName, new fc2023.CreateAliasRequest({ body: aliasBody }));
  }
  const manifest = { ...NODE_MANIFEST, rollout: { [TEST_REGION]: ['api-hz'], [SHANGHAI]: ['api-sh'] }, canary: { alias: 'prod', weight: 0.1 } };
  await publishThroughHandler(env.cloud, 'layers/left-pad', nodejsLayerZip('v2'), manifest, FC3());
}

const run = async (command: string, ...flags: string[]) => {
  const ran = await runCommandWith(regionsEnv(), command, ...flags, ...fcFlags(env.cloud));
  expect(ran.err).toBe('');
  return ran;
};

describe('promote and rollback in every region the last rollout touched', () => {
  it('--dry-run prints each region and changes nothing anywhere; promote and rollback then act in both', async () => {
    await rolledOutInBothRegions();
    for (const region of Object.keys(FUNCTION_IN)) {
      expect(await layersOf(region)).toEqual([arn(region, 2)]);
      expect(await alias(region)).toEqual({ versionId: '1', weights: { 2: 0.1 } });
    }

    const dry = await run('promote', 'left-pad', ...ossFlags(env.cloud), '--dry-run');
    expect(dry.out).toContain(`  in ${TEST_REGION}:\n    api-hz alias prod: version 1 + 0.1 to version 2 -> version 2`);
    expect(dry.out).toContain(`  in ${SHANGHAI}:\n    api-sh alias prod: version 1 + 0.1 to version 2 -> version 2`);
    for (const region of Object.keys(FUNCTION_IN)) expect(await alias(region)).toEqual({ versionId: '1', weights: { 2: 0.1 } });

    const promoted = JSON.parse((await run('promote', 'left-pad', ...ossFlags(env.cloud), '--json')).out) as ChangeReport;
    expect(promoted.changes.map((change) => [change.region, change.functionName, change.skipped ?? 'changed'])).toEqual([
      [TEST_REGION, 'api-hz', 'changed'],
      [SHANGHAI, 'api-sh', 'changed'],
    ]);
    for (const region of Object.keys(FUNCTION_IN)) expect(await alias(region)).toEqual({ versionId: '2', weights: {} });

    const dryRollback = await run('rollback', 'left-pad', ...ossFlags(env.cloud), '--dry-run');
    expect(dryRollback.out).toContain(`    api-sh layers: ${arn(SHANGHAI, 2)} -> ${arn(SHANGHAI, 1)}`);
    expect(await layersOf(SHANGHAI)).toEqual([arn(SHANGHAI, 2)]);

    const rolledBack = await run('rollback', 'left-pad', ...ossFlags(env.cloud));
    expect(rolledBack.out).toContain(`  in ${TEST_REGION}:\n    api-hz layers: ${arn(TEST_REGION, 2)} -> ${arn(TEST_REGION, 1)}`);
    expect(rolledBack.out).toContain(`  in ${SHANGHAI}:\n    api-sh layers: ${arn(SHANGHAI, 2)} -> ${arn(SHANGHAI, 1)}`);
    for (const region of Object.keys(FUNCTION_IN)) {
      expect(await layersOf(region)).toEqual([arn(region, 1)]);
      expect(await alias(region)).toEqual({ versionId: '1', weights: {} });
    }
  });
});

describe('consumers in every region of REGIONS', () => {
  it('lists each region’s functions, versions and aliases with the region, behind that region’s newest', async () => {
    await rolledOutInBothRegions();

    const rows = JSON.parse((await run('consumers', '--layer', 'left-pad', '--json')).out) as ConsumerRow[];
    const shown = rows.map((row) => [row.region, row.functionName, row.kind, row.version, row.weight ?? null, row.behind]);
    for (const region of Object.keys(FUNCTION_IN)) {
      expect(shown.filter(([where]) => where === region)).toEqual([
        [region, FUNCTION_IN[region], 'function', 2, null, false],
        [region, FUNCTION_IN[region], 'functionVersion', 2, null, false],
        [region, FUNCTION_IN[region], 'alias', 2, 0.1, false],
        [region, FUNCTION_IN[region], 'functionVersion', 1, null, true],
        [region, FUNCTION_IN[region], 'alias', 1, 0.9, true],
      ]);
    }
    const table = await runCommandWith(regionsEnv(), 'consumers', ...fcFlags(env.cloud));
    expect(table.out.split('\n')[0]).toMatch(/^region\s+layer\s+version/);
    expect(table.out).toMatch(new RegExp(`${SHANGHAI}\\s+left-pad\\s+1\\s+2\\s+api-sh alias prod \\(0\\.9 to version 1\\)\\s+behind`));
  });
});
