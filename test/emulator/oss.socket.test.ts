import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_BUCKET } from '../support/cloud';
import { type LoopbackCloud, startLoopbackCloud } from '../support/cloud';
import { ossClient } from '../support/clients';
import { independentCrc64, patternBytes } from '../support/independent';
import { describeOssEmulator } from './oss-suite';

describe('OSS emulator over a loopback socket (path-style addressing)', () => {
  let cloud: LoopbackCloud;
  beforeEach(async () => {
    cloud = await startLoopbackCloud();
  });
  afterEach(() => cloud.close());

  describeOssEmulator(() => cloud);

  it('streams a large object in many pieces, with the right bytes', async () => {
    const bytes = patternBytes(8 * 1024 * 1024, 11);
    await cloud.oss.putObject(TEST_BUCKET, 'large.zip', bytes);
    const { stream, res } = await ossClient({ endpoint: cloud.ossEndpoint }).getStream('large.zip');
    let pieces = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
      pieces += 1;
      chunks.push(chunk as Buffer);
    }
    expect(pieces).toBeGreaterThan(8);
    expect(independentCrc64(Buffer.concat(chunks))).toBe((res.headers as Record<string, string>)['x-oss-hash-crc64ecma']);
    expect(cloud.oss.requests.entries.at(-1)).toMatchObject({ method: 'GET', bucket: TEST_BUCKET, key: 'large.zip', status: 200 });
  });
});
