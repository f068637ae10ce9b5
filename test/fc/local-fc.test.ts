import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../src/console/local-account';
import { type LocalStack, startLocalStack } from '../../src/local/stack';
import { EXAMPLES_DIR, HANDLER_BUNDLE, HOST_SCRIPT, ensureBundles } from '../local/bundles';
import { OFFICIAL_API_VERSIONS, officialClient } from './official-sdks';

/**
 * `npm start`'s local Function Compute: Alibaba's official FC SDKs, with the
 * local account's key, list the versions it holds, over its loopback socket.
 */
let stack: LocalStack;
let dataDir: string;

beforeAll(async () => {
  await ensureBundles();
  dataDir = await mkdtemp(join(tmpdir(), 'local-fc-'));
  stack = await startLocalStack({
    dataDir,
    bucket: 'local-layers',
    ossPort: 0,
    fcPort: 0,
    handlerBundle: HANDLER_BUNDLE,
    hostScript: HOST_SCRIPT,
    examplesDir: EXAMPLES_DIR,
    onEvent: () => undefined,
  });
  // The example layer the first start puts in the bucket, published by the function's own bundle.
  await stack.scan();
  await stack.idle();
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe.each(OFFICIAL_API_VERSIONS)('the official FC SDK of %s against the local FC', (apiVersion) => {
  it('lists the versions the local FC holds', async () => {
    const [held] = stack.fc.versions('hello-layer');
    expect(held).toMatchObject({ version: 1 });

    const page = await officialClient(apiVersion, { endpoint: stack.fcUrl, credential: LOCAL_CREDENTIALS }).list('hello-layer', 1, 20);

    expect(page.layers?.map((layer) => [layer.layerName, layer.version, layer.codeChecksum])).toEqual([['hello-layer', 1, held?.codeChecksum]]);
  });
});
