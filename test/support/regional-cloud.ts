import { http, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { type FcEmulator, type OssEmulator, createFcEmulator, createOssEmulator } from '../../src/emulator';
import { recordWrittenObjects } from './secret-scan';
import { TEST_ACCOUNT_ID, TEST_CREDENTIALS, createTestCloud, type TestCloud } from './cloud';

/** Another region: its own OSS (holding the staging bucket) and its own FC, which reads only that OSS. */
export interface OtherRegion {
  region: string;
  bucket: string;
  oss: OssEmulator;
  fc: FcEmulator;
}

export interface RegionalCloud {
  /** The trigger's region (cn-hangzhou), as every other test has it. */
  home: TestCloud;
  regions: OtherRegion[];
  region(name: string): OtherRegion;
  /** `REGIONS` for these regions. */
  regionsEnv: string;
}

export const OTHER_REGIONS = [
  { region: 'cn-shanghai', bucket: 'team-layers-sh' },
  { region: 'cn-beijing', bucket: 'team-layers-bj' },
] as const;

export function createRegionalCloud(others: ReadonlyArray<{ region: string; bucket: string }> = OTHER_REGIONS): RegionalCloud {
  const home = createTestCloud();
  const regions = others.map(({ region, bucket }) => {
    const account = { accountId: TEST_ACCOUNT_ID, region, credentials: [TEST_CREDENTIALS] };
    const oss = createOssEmulator({ ...account, buckets: [bucket], newAccount: true });
    const fc = createFcEmulator({ ...account, newAccount: true, readObject: (b, key) => oss.readObject(b, key) });
    return { region, bucket, oss, fc };
  });
  return {
    home,
    regions,
    region: (name) => {
      const found = regions.find((other) => other.region === name);
      if (!found) throw new Error(`no region ${name} in this cloud`);
      return found;
    },
    regionsEnv: others.map(({ region, bucket }) => `${region}=${bucket}`).join(','),
  };
}

/**
 * Routes by the region the host names, as the cloud's DNS does: `oss-<region>[-internal].aliyuncs.com`
 * (with or without the bucket in front) and `<account>.<region>[-internal].fc.aliyuncs.com`. The
 * home region answers on its internal endpoints, the others on their public ones, the publisher's defaults.
 */
export function useMswRegionalCloud(others?: ReadonlyArray<{ region: string; bucket: string }>): {
  readonly cloud: RegionalCloud;
  readonly server: ReturnType<typeof setupServer>;
} {
  let current: RegionalCloud | undefined;
  const cloud = (): RegionalCloud => {
    if (current === undefined) throw new Error('useMswRegionalCloud: the cloud exists only inside a test');
    return current;
  };
  const server = setupServer(
    http.all('*', ({ request }) => {
      const { hostname } = new URL(request.url);
      if (hostname === '127.0.0.1' || hostname === 'localhost') return passthrough();
      const fc = /^\d+\.([a-z0-9-]+?)(-internal)?\.fc\.aliyuncs\.com$/.exec(hostname);
      const oss = /(?:^|\.)oss-([a-z0-9-]+?)(-internal)?\.aliyuncs\.com$/.exec(hostname);
      const match = fc ?? oss;
      if (!match) return undefined;
      const [, region, internal] = match;
      const { home, regions } = cloud();
      if (region === 'cn-hangzhou' && internal) return fc ? home.fc.handle(request) : home.oss.handle(request);
      const other = internal ? undefined : regions.find((candidate) => candidate.region === region);
      if (!other) return new Response(`no endpoint ${hostname} in this test cloud`, { status: 502 });
      return fc ? other.fc.handle(request) : other.oss.handle(request);
    }),
  );
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  beforeEach(() => {
    current = createRegionalCloud(others);
  });
  afterEach(async () => {
    server.resetHandlers();
    await recordWrittenObjects(cloud().home);
  });
  afterAll(() => server.close());
  return {
    get cloud() {
      return cloud();
    },
    server,
  };
}

/** FC refusing every create for good, as over a layer's version quota: `FcRejected`, never retried. */
export function refuseCreatesForGood(fc: FcEmulator): void {
  fc.faults.inject({
    match: (target) => target.action === 'CreateLayerVersion',
    status: 400,
    code: 'LayerQuotaExceeded',
    message: 'the layer has too many versions',
    times: Infinity,
  });
}
