import { describe } from 'vitest';
import { useMswCloud } from '../support/cloud';
import { describeOssEmulator } from './oss-suite';

describe('OSS emulator in-process (msw, virtual-host addressing)', () => {
  const env = useMswCloud();
  describeOssEmulator(() => env.cloud);
});
