import { join } from 'node:path';
import * as fc2021 from '@alicloud/fc-open20210406';
import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';
import { refusal } from '../fc/official-sdks';
import { patternBytes } from '../support/independent';
import { ensureBundles } from './bundles';
import { createFunction, fc2021Client, listFc3Functions, updateFunctionLayers } from './lifecycle-sdk';
import { readJson, useLocalStacks } from './stack-harness';

/** The local FC's functions as FC 3.0's CreateFunction and UpdateFunction make them, through the official SDK. */
const stacks = useLocalStacks();
beforeAll(ensureBundles, 120_000);

const arn = (layerName: string, version: number): string => `acs:fc:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:layers/${layerName}/versions/${version}`;

describe('npm start: functions of the local FC', () => {
  it('UpdateFunction replaces the layers; the function survives a restart and a deletion of the version it uses', async () => {
    const first = await stacks.start();
    first.stack.fc.seedVersion('tools', { code: patternBytes(64, 1) });
    first.stack.fc.seedVersion('tools', { code: patternBytes(64, 2) });
    await createFunction(first.stack.fcUrl, 'api', [arn('tools', 1)]);
    const updated = await updateFunctionLayers(first.stack.fcUrl, 'api', [arn('tools', 2)]);
    expect(updated).toMatchObject({ functionName: 'api', runtime: 'nodejs20', handler: 'index.handler', layers: [{ arn: arn('tools', 2), size: 64 }] });
    await stacks.release(first);

    const { stack } = await stacks.start(first.dataDir);
    expect(await readJson(join(first.dataDir, 'functions.json'))).toEqual({
      functions: [
        {
          serviceName: 'default',
          functionName: 'api',
          runtime: 'nodejs20',
          handler: 'index.handler',
          layers: [expect.objectContaining({ layerName: 'tools', version: 2, arnV2: arn('tools', 2) })],
          lastModifiedTime: expect.stringMatching(/Z$/),
        },
      ],
    });
    // As in FC, a function keeps naming a version deleted after it was configured.
    await fc2021Client(stack.fcUrl).deleteLayerVersion('tools', '2');
    expect(await listFc3Functions(stack.fcUrl)).toMatchObject({ functions: [{ functionName: 'api', layers: [{ arn: arn('tools', 2) }] }] });
    // The 2021-04-06 listing the publisher uses sees it in the service `default`, with both ARN forms.
    const listed = (await fc2021Client(stack.fcUrl).listFunctions('default', new fc2021.ListFunctionsRequest({}))).body!.toMap();
    expect(listed).toMatchObject({ functions: [{ functionName: 'api', layersArnV2: [arn('tools', 2)] }] });
  }, 60_000);

  it('refuses what FC refuses, naming the field: a version that does not exist, a name that is no ARN, a duplicate, an unknown function', async () => {
    const { stack } = await stacks.start();
    stack.fc.seedVersion('tools', { code: patternBytes(16, 1) });
    expect(await refusal(createFunction(stack.fcUrl, 'api', [arn('tools', 7)]))).toMatchObject({ statusCode: 404, code: 'LayerNotFound' });
    const notArn = await refusal(createFunction(stack.fcUrl, 'api', ['tools:1']));
    expect(notArn).toMatchObject({ statusCode: 400, code: 'InvalidArgument' });
    expect(notArn.message).toContain('layers: tools:1 is not a layer version ARN');
    await createFunction(stack.fcUrl, 'api', [arn('tools', 1)]);
    expect(await refusal(createFunction(stack.fcUrl, 'api', []))).toMatchObject({ statusCode: 409, code: 'FunctionAlreadyExists' });
    expect(await refusal(updateFunctionLayers(stack.fcUrl, 'nope', []))).toMatchObject({ statusCode: 404, code: 'FunctionNotFound' });
    // Nothing refused was kept.
    expect(await listFc3Functions(stack.fcUrl)).toMatchObject({ functions: [{ functionName: 'api', layers: [{ arn: arn('tools', 1) }] }] });
  }, 60_000);

  it('checks the signature: a wrong secret is refused and creates nothing', async () => {
    const { stack } = await stacks.start();
    const url = new URL(stack.fcUrl);
    const client = new Fc2023Client(
      new $OpenApiUtil.Config({
        accessKeyId: LOCAL_CREDENTIALS.accessKeyId,
        accessKeySecret: 'not-the-secret',
        endpoint: url.host,
        protocol: 'http',
        regionId: LOCAL_REGION,
      }),
    );
    const body = new fc2023.CreateFunctionInput({ functionName: 'forged', runtime: 'nodejs20', handler: 'index.handler' });
    expect(await refusal(client.createFunction(new fc2023.CreateFunctionRequest({ body })))).toMatchObject({ statusCode: 403 });
    expect(await listFc3Functions(stack.fcUrl)).toMatchObject({ functions: [] });
  }, 60_000);
});
