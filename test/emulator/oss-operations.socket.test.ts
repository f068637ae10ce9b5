import { afterEach, beforeEach, describe } from 'vitest';
import { type LoopbackServer, createFcEmulator, createOssEmulator, serve } from '../../src/emulator';
import { type LoopbackCloud, TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, startLoopbackCloud } from '../support/cloud';
import { describeOssOperations } from './oss-operations-suite';

/** The test cloud with an OSS that still takes V1, as an old account's bucket does. */
async function startLegacyLoopbackCloud(): Promise<LoopbackCloud> {
  const account = { accountId: TEST_ACCOUNT_ID, region: TEST_REGION, credentials: [TEST_CREDENTIALS] };
  const oss = createOssEmulator({ ...account, buckets: [TEST_BUCKET], newAccount: false });
  const fc = createFcEmulator({ ...account, readObject: (bucket, key) => oss.readObject(bucket, key) });
  const servers: LoopbackServer[] = [await serve(oss.handle), await serve(fc.handle)];
  return {
    oss,
    fc,
    ossEndpoint: servers[0]!.url,
    fcEndpoint: servers[1]!.url,
    close: async () => {
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

describe('OSS emulator operations over a loopback socket, signed V4', () => {
  let cloud: LoopbackCloud;
  beforeEach(async () => {
    cloud = await startLoopbackCloud();
  });
  afterEach(() => cloud.close());

  describeOssOperations(() => cloud, 'path', true);
  describeOssOperations(() => cloud, 'host', true);
});

describe('OSS emulator operations over a loopback socket, signed V1 (an old bucket)', () => {
  let cloud: LoopbackCloud;
  beforeEach(async () => {
    cloud = await startLegacyLoopbackCloud();
  });
  afterEach(() => cloud.close());

  describeOssOperations(() => cloud, 'path');
  describeOssOperations(() => cloud, 'host');
});
