import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FcEmulator, type LoopbackServer, createFcEmulator, jsonFileFunctionStore, jsonFileLayerStore, serve } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_CREDENTIALS, TEST_REGION } from '../support/cloud';
import { refusal } from '../fc/official-sdks';
import { patternBytes } from '../support/independent';

/**
 * FC 3.0's function API on the local FC (GetFunction with a qualifier, UpdateFunction's layers,
 * PublishFunctionVersion, ListFunctionVersions, CreateAlias, UpdateAlias, GetAlias, ListAliases),
 * driven by the official `@alicloud/fc20230330` client over a loopback socket, and kept in the
 * data folder's functions.json.
 */
let folder: string;
let fc: FcEmulator;
let server: LoopbackServer;

/** An FC emulator keeping layers and functions in `folder`, as `npm start` keeps them in its data folder. */
async function start(): Promise<void> {
  fc = createFcEmulator({
    accountId: TEST_ACCOUNT_ID,
    region: TEST_REGION,
    credentials: [TEST_CREDENTIALS],
    newAccount: true,
    readObject: async () => undefined,
    layerStore: jsonFileLayerStore(join(folder, 'layers.json')),
    functionStore: jsonFileFunctionStore(join(folder, 'functions.json')),
  });
  server = await serve(fc.handle);
}

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'fc-functions-'));
  await start();
});
afterEach(async () => {
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

function client(): Fc2023Client {
  const url = new URL(server.url);
  return new Fc2023Client(new $OpenApiUtil.Config({ ...TEST_CREDENTIALS, endpoint: url.host, protocol: 'http', regionId: TEST_REGION }));
}

const arn = (layerName: string, version: number): string => `acs:fc:${TEST_REGION}:${TEST_ACCOUNT_ID}:layers/${layerName}/versions/${version}`;

/** Layer `tools` at versions 1 and 2, and function `api` using version 1 beside `base` version 1. */
async function seedApi(): Promise<void> {
  fc.seedVersion('tools', { code: patternBytes(64, 1) });
  fc.seedVersion('tools', { code: patternBytes(80, 2) });
  fc.seedVersion('base', { code: patternBytes(32, 3) });
  const body = new fc2023.CreateFunctionInput({
    functionName: 'api',
    runtime: 'nodejs20',
    handler: 'index.handler',
    layers: [arn('base', 1), arn('tools', 1)],
  });
  await client().createFunction(new fc2023.CreateFunctionRequest({ body }));
}

async function updateLayers(layers: string[]): Promise<Record<string, unknown>> {
  return (await client().updateFunction('api', new fc2023.UpdateFunctionRequest({ body: new fc2023.UpdateFunctionInput({ layers }) }))).body!.toMap();
}

async function getFunction(qualifier?: string): Promise<Record<string, unknown>> {
  return (await client().getFunction('api', new fc2023.GetFunctionRequest(qualifier === undefined ? {} : { qualifier }))).body!.toMap();
}

async function publish(description: string): Promise<fc2023.Version> {
  return (await client().publishFunctionVersion('api', new fc2023.PublishFunctionVersionRequest({ body: new fc2023.PublishVersionInput({ description }) })))
    .body!;
}

describe('FC 3.0 functions on the local FC, through the official SDK', () => {
  it('GetFunction answers the configuration with layers as {arn, size}; UpdateFunction replaces the layers in the order given', async () => {
    await seedApi();
    expect(await getFunction()).toMatchObject({
      functionName: 'api',
      runtime: 'nodejs20',
      layers: [
        { arn: arn('base', 1), size: 32 },
        { arn: arn('tools', 1), size: 64 },
      ],
    });
    const updated = await updateLayers([arn('base', 1), arn('tools', 2)]);
    expect(updated).toMatchObject({
      functionName: 'api',
      layers: [
        { arn: arn('base', 1), size: 32 },
        { arn: arn('tools', 2), size: 80 },
      ],
    });
    expect(await getFunction('LATEST')).toMatchObject({ layers: [{ arn: arn('base', 1) }, { arn: arn('tools', 2) }] });
  });

  it('a published version keeps the layers it was published with; GetFunction with the version id answers them', async () => {
    await seedApi();
    const first = await publish('on tools 1');
    expect(first).toMatchObject({ versionId: '1', description: 'on tools 1' });
    expect(first.createdTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await updateLayers([arn('base', 1), arn('tools', 2)]);
    const second = await publish('on tools 2');
    expect(second.versionId).toBe('2');

    expect(await getFunction('1')).toMatchObject({ layers: [{ arn: arn('base', 1) }, { arn: arn('tools', 1) }] });
    expect(await getFunction('2')).toMatchObject({ layers: [{ arn: arn('base', 1) }, { arn: arn('tools', 2) }] });
    // Changing the function later leaves its versions as they were.
    await updateLayers([]);
    expect((await getFunction('1')).layers).toEqual([
      { arn: arn('base', 1), size: 32 },
      { arn: arn('tools', 1), size: 64 },
    ]);
    expect(await getFunction()).toMatchObject({ layers: [] });

    const backward = (await client().listFunctionVersions('api', new fc2023.ListFunctionVersionsRequest({}))).body!;
    expect(backward.direction).toBe('BACKWARD');
    expect(backward.versions?.map((version) => [version.versionId, version.description])).toEqual([
      ['2', 'on tools 2'],
      ['1', 'on tools 1'],
    ]);
    const page = (await client().listFunctionVersions('api', new fc2023.ListFunctionVersionsRequest({ direction: 'FORWARD', limit: 1 }))).body!;
    expect(page.versions?.map((version) => version.versionId)).toEqual(['1']);
    const rest = (
      await client().listFunctionVersions('api', new fc2023.ListFunctionVersionsRequest({ direction: 'FORWARD', limit: 1, nextToken: page.nextToken }))
    ).body!;
    expect(rest.versions?.map((version) => version.versionId)).toEqual(['2']);
    expect(rest.nextToken).toBeUndefined();
  });

  it('an alias sends a share of its traffic to a canary version (additionalVersionWeight); UpdateAlias moves it; GetFunction follows the alias', async () => {
    await seedApi();
    await publish('v1');
    await updateLayers([arn('base', 1), arn('tools', 2)]);
    await publish('v2');

    const created = (
      await client().createAlias('api', new fc2023.CreateAliasRequest({ body: new fc2023.CreateAliasInput({ aliasName: 'prod', versionId: '1' }) }))
    ).body!;
    expect(created).toMatchObject({ aliasName: 'prod', versionId: '1', additionalVersionWeight: {} });
    const canary = new fc2023.UpdateAliasInput({ additionalVersionWeight: { '2': 0.1 } });
    const updated = (await client().updateAlias('api', 'prod', new fc2023.UpdateAliasRequest({ body: canary }))).body!;
    expect(updated).toMatchObject({ aliasName: 'prod', versionId: '1', additionalVersionWeight: { '2': 0.1 } });
    expect((await client().getAlias('api', 'prod')).body).toMatchObject({ versionId: '1', additionalVersionWeight: { '2': 0.1 } });
    expect(await getFunction('prod')).toMatchObject({ layers: [{ arn: arn('base', 1) }, { arn: arn('tools', 1) }] });

    const promoted = new fc2023.UpdateAliasInput({ versionId: '2', additionalVersionWeight: {} });
    await client().updateAlias('api', 'prod', new fc2023.UpdateAliasRequest({ body: promoted }));
    expect(await getFunction('prod')).toMatchObject({ layers: [{ arn: arn('base', 1) }, { arn: arn('tools', 2) }] });

    await client().createAlias(
      'api',
      new fc2023.CreateAliasRequest({ body: new fc2023.CreateAliasInput({ aliasName: 'staging', versionId: '2', description: 'next' }) }),
    );
    const all = (await client().listAliases('api', new fc2023.ListAliasesRequest({}))).body!;
    expect(all.aliases?.map((alias) => [alias.aliasName, alias.versionId])).toEqual([
      ['prod', '2'],
      ['staging', '2'],
    ]);
    const prefixed = (await client().listAliases('api', new fc2023.ListAliasesRequest({ prefix: 'st' }))).body!;
    expect(prefixed.aliases?.map((alias) => alias.aliasName)).toEqual(['staging']);
  });

  it('refuses what FC refuses: a sixth layer, an unknown function, version or alias, a duplicate alias, weights past 1', async () => {
    await seedApi();
    for (const name of ['l3', 'l4', 'l5', 'l6']) fc.seedVersion(name, { code: patternBytes(8, 4) });
    const five = [arn('base', 1), arn('tools', 1), arn('l3', 1), arn('l4', 1), arn('l5', 1)];
    expect((await updateLayers(five)).layers).toHaveLength(5);
    const six = await refusal(updateLayers([...five, arn('l6', 1)]));
    expect(six).toMatchObject({ statusCode: 400, code: 'InvalidArgument' });
    expect(six.message).toContain('at most 5 layers');
    expect((await getFunction()).layers).toHaveLength(5);

    expect(await refusal(client().getFunction('nope', new fc2023.GetFunctionRequest({})))).toMatchObject({ statusCode: 404, code: 'FunctionNotFound' });
    expect(await refusal(getFunction('9'))).toMatchObject({ statusCode: 404, code: 'VersionNotFound' });
    expect(await refusal(getFunction('prod'))).toMatchObject({ statusCode: 404, code: 'AliasNotFound' });
    const toNothing = new fc2023.CreateAliasInput({ aliasName: 'prod', versionId: '1' });
    expect(await refusal(client().createAlias('api', new fc2023.CreateAliasRequest({ body: toNothing })))).toMatchObject({
      statusCode: 404,
      code: 'VersionNotFound',
    });

    await publish('v1');
    await publish('v2');
    await client().createAlias('api', new fc2023.CreateAliasRequest({ body: toNothing }));
    expect(await refusal(client().createAlias('api', new fc2023.CreateAliasRequest({ body: toNothing })))).toMatchObject({
      statusCode: 409,
      code: 'AliasAlreadyExists',
    });
    const tooMuch = await refusal(
      client().updateAlias('api', 'prod', new fc2023.UpdateAliasRequest({ body: new fc2023.UpdateAliasInput({ additionalVersionWeight: { '2': 1.5 } }) })),
    );
    expect(tooMuch).toMatchObject({ statusCode: 400, code: 'InvalidArgument' });
    expect(tooMuch.message).toContain('additionalVersionWeight["2"]');
    expect(await refusal(client().getAlias('api', 'dev'))).toMatchObject({ statusCode: 404, code: 'AliasNotFound' });
    // Nothing refused was kept.
    expect((await client().getAlias('api', 'prod')).body).toMatchObject({ versionId: '1', additionalVersionWeight: {} });
  });

  it('keeps versions and aliases in functions.json: a restart finds them, and the next version id follows the last', async () => {
    await seedApi();
    await publish('v1');
    await client().createAlias('api', new fc2023.CreateAliasRequest({ body: new fc2023.CreateAliasInput({ aliasName: 'prod', versionId: '1' }) }));
    const kept = JSON.parse(await readFile(join(folder, 'functions.json'), 'utf8')) as { functions: Array<{ versions: unknown[]; aliases: unknown[] }> };
    expect(kept.functions[0]).toMatchObject({ functionName: 'api', versions: [{ versionId: '1' }], aliases: [{ aliasName: 'prod', versionId: '1' }] });

    await server.close();
    await start();
    expect(await getFunction('prod')).toMatchObject({ layers: [{ arn: arn('base', 1) }, { arn: arn('tools', 1) }] });
    expect((await publish('v2')).versionId).toBe('2');
  });
});
