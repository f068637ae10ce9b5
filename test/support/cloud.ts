import { http, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { recordWrittenObjects } from './secret-scan';
import { type Credential, type FcEmulator, type LoopbackServer, type OssEmulator, createFcEmulator, createOssEmulator, serve } from '../../src/emulator';

export const TEST_ACCOUNT_ID = '1234567890123456';
export const TEST_REGION = 'cn-hangzhou';
/** The bucket of the shared event fixtures (test/events/fixtures). */
export const TEST_BUCKET = 'team-layers';

/** An STS credential, as the function role gives: fc2 sends the token only for `STS`-prefixed keys. */
export const TEST_CREDENTIALS = {
  accessKeyId: 'STS.NTestEmulatorKeyId0001',
  accessKeySecret: 'emulator-test-secret-do-not-log',
  securityToken: 'emulator-test-security-token-do-not-log',
} as const satisfies Credential;

/** The contract's default endpoints (docs/contract.md §2): what the publisher uses when nothing is configured. */
export const IN_PROCESS_OSS_ENDPOINT = `https://oss-${TEST_REGION}-internal.aliyuncs.com`;
export const IN_PROCESS_FC_ENDPOINT = `https://${TEST_ACCOUNT_ID}.${TEST_REGION}-internal.fc.aliyuncs.com`;

export interface TestCloud {
  oss: OssEmulator;
  fc: FcEmulator;
  /** Where clients reach this cloud's OSS: a cloud host in-process, `http://127.0.0.1:<port>` over sockets. */
  ossEndpoint: string;
  fcEndpoint: string;
}

/** The `context` Function Compute hands the handler, for this test account. */
export function testContext(requestId = 'test-request-id') {
  return {
    requestId,
    region: TEST_REGION,
    accountId: TEST_ACCOUNT_ID,
    credentials: { ...TEST_CREDENTIALS },
  };
}

/** Fresh emulators for the test account, with the test bucket created and FC reading zips from OSS. */
export function createTestCloud(): TestCloud {
  const account = { accountId: TEST_ACCOUNT_ID, region: TEST_REGION, credentials: [TEST_CREDENTIALS] };
  const oss = createOssEmulator({ ...account, buckets: [TEST_BUCKET], newAccount: true });
  const fc = createFcEmulator({ ...account, newAccount: true, readObject: (bucket, key) => oss.readObject(bucket, key) });
  return { oss, fc, ossEndpoint: IN_PROCESS_OSS_ENDPOINT, fcEndpoint: IN_PROCESS_FC_ENDPOINT };
}

/**
 * One msw handler for the whole cloud, routing by host: `*.fc.aliyuncs.com` is Function Compute,
 * any other `*.aliyuncs.com` is OSS. Loopback
 * requests pass through, so socket-served emulators work in the same file (docs/reference/testing.md §4).
 */
export function cloudHandler(currentCloud: () => TestCloud) {
  return http.all('*', ({ request }) => {
    const { hostname } = new URL(request.url);
    if (hostname === '127.0.0.1' || hostname === 'localhost') return passthrough();
    if (hostname.endsWith('.fc.aliyuncs.com')) return currentCloud().fc.handle(request);
    if (hostname.endsWith('.aliyuncs.com')) return currentCloud().oss.handle(request);
    return undefined;
  });
}

export interface MswCloud {
  /** The cloud of the running test: a fresh one for every test. */
  readonly cloud: TestCloud;
  /** For `server.use(...)` overrides; reset after every test. */
  readonly server: ReturnType<typeof setupServer>;
}

/** Call at the top of a test file: msw intercepts the cloud hosts, and anything else is an error. */
export function useMswCloud(): MswCloud {
  let current: TestCloud | undefined;
  const currentCloud = (): TestCloud => {
    if (current === undefined) throw new Error('useMswCloud: the cloud exists only inside a test');
    return current;
  };
  const server = setupServer(cloudHandler(currentCloud));
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  beforeEach(() => {
    current = createTestCloud();
  });
  afterEach(async () => {
    server.resetHandlers();
    await recordWrittenObjects(currentCloud());
  });
  afterAll(() => server.close());
  return {
    get cloud() {
      return currentCloud();
    },
    server,
  };
}

export interface LoopbackCloud extends TestCloud {
  close(): Promise<void>;
}

/**
 * The same cloud served over real loopback sockets (one port each), for large bodies
 * (docs/reference/testing.md §3). In a file that also uses `useMswCloud`, loopback requests pass through msw.
 */
export async function startLoopbackCloud(): Promise<LoopbackCloud> {
  const cloud = createTestCloud();
  const servers: LoopbackServer[] = await Promise.all([serve(cloud.oss.handle), serve(cloud.fc.handle)]);
  const [ossServer, fcServer] = servers as [LoopbackServer, LoopbackServer];
  return {
    ...cloud,
    ossEndpoint: ossServer.url,
    fcEndpoint: fcServer.url,
    close: async () => {
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}
