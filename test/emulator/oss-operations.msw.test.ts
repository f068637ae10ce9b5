import { describe } from 'vitest';
import { useMswCloud } from '../support/cloud';
import { describeOssOperations } from './oss-operations-suite';

describe('OSS emulator operations in-process (msw)', () => {
  const env = useMswCloud();
  describeOssOperations(() => env.cloud, 'virtual', true);
});
