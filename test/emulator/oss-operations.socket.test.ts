import { afterEach, beforeEach, describe } from 'vitest';
import { type LoopbackCloud, startLoopbackCloud } from '../support/cloud';
import { describeOssOperations } from './oss-operations-suite';

describe('OSS emulator operations over a loopback socket', () => {
  let cloud: LoopbackCloud;
  beforeEach(async () => {
    cloud = await startLoopbackCloud();
  });
  afterEach(() => cloud.close());

  describeOssOperations(() => cloud, 'path');
  describeOssOperations(() => cloud, 'host');
  describeOssOperations(() => cloud, 'path', true);
  describeOssOperations(() => cloud, 'host', true);
});
