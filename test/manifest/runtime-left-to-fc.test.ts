import { describe, expect, it } from 'vitest';
import { handleOssEvent } from '../../src/handler';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, testContext, useMswCloud } from '../support/cloud';
import { manifestBytes, nodejsLayerZip } from '../support/layers';

const env = useMswCloud();

async function publish(compatibleRuntime: string[]) {
  const { cloud } = env;
  await cloud.oss.putObject(TEST_BUCKET, 'layers/next.zip', nodejsLayerZip('next'));
  await cloud.oss.putObject(TEST_BUCKET, 'layers/next.layer.json', manifestBytes({ layerName: 'next', compatibleRuntime }));
  const record = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/next.zip');
  await handleOssEvent(
    Buffer.from(JSON.stringify({ events: [record] })),
    { ...testContext('next'), function: { timeout: 30 } },
    {
      env: {},
      write: () => undefined,
    },
  );
  const written = await cloud.oss.readObject(TEST_BUCKET, 'layers/next.result.json');
  return JSON.parse(Buffer.from(written!).toString('utf8')) as PublishResult;
}

describe('a runtime the publisher does not know (docs/contract.md §4)', () => {
  it('shaped like a runtime id, it is sent to Function Compute, which judges it', async () => {
    const result = await publish(['nodejs20', 'nodejs22']);

    const creates = env.cloud.fc.requests.entries.filter((request) => request.action === 'CreateLayerVersion');
    expect(creates).toHaveLength(1);
    expect(creates[0]?.body).toMatchObject({ compatibleRuntime: ['nodejs20', 'nodejs22'] });
    // The emulated FC knows only the 2021-04-06 list, so it refuses; the result quotes it.
    expect(result).toMatchObject({ status: 'failed', error: { code: 'FcRejected', message: expect.stringContaining('nodejs22') } });
  });

  it('a near miss of a known one never reaches Function Compute', async () => {
    const result = await publish(['nodjs20']);

    expect(env.cloud.fc.requests.entries).toHaveLength(0);
    expect(result).toMatchObject({ status: 'failed', error: { code: 'ManifestInvalid', message: expect.stringContaining('did you mean "nodejs20"?') } });
  });
});
