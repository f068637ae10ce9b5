import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Credential, createFcEmulator, serve } from '../../src/emulator';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, type LoopbackCloud, startLoopbackCloud } from '../support/cloud';
import { type Fc2Error, fc2Client } from '../support/fc2';
import { independentCrc64, patternBytes } from '../support/independent';
import { describeFcEmulator } from './fc-suite';

describe('FC emulator over a loopback socket', () => {
  let cloud: LoopbackCloud;
  beforeEach(async () => {
    cloud = await startLoopbackCloud();
  });
  afterEach(() => cloud.close());

  describeFcEmulator(() => cloud);

  it('checksums a large zip read from the OSS emulator', async () => {
    const bytes = patternBytes(6 * 1024 * 1024, 13);
    await cloud.oss.putObject(TEST_BUCKET, 'layers/big.zip', bytes);
    const { data } = await fc2Client({ endpoint: cloud.fcEndpoint }).publishLayerVersion('Big', {
      Code: { ossBucketName: TEST_BUCKET, ossObjectName: 'layers/big.zip' },
      compatibleRuntime: ['nodejs20'],
    });
    expect(data).toMatchObject({ codeChecksum: independentCrc64(bytes), codesize: bytes.length });
  });

  it('refuses a request dated more than 15 minutes from the server clock', async () => {
    const credentials: Credential[] = [TEST_CREDENTIALS];
    const skewed = createFcEmulator({
      accountId: TEST_ACCOUNT_ID,
      region: TEST_REGION,
      credentials,
      readObject: async () => undefined,
      now: () => new Date(Date.now() + 16 * 60 * 1000),
      errorCasing: 'PascalCase',
    });
    const server = await serve(skewed.handle);
    try {
      const error = await fc2Client({ endpoint: server.url })
        .listLayerVersions('Any', { startVersion: 1, limit: 1 })
        .then(
          () => expect.fail('a skewed request was accepted'),
          (thrown: unknown) => thrown as Fc2Error,
        );
      expect(error.code).toBe('RequestTimeTooSkewed');
    } finally {
      await server.close();
    }
  });
});
