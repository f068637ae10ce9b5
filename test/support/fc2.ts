import FcClient from '@alicloud/fc2/lib/client.js';
import { TEST_ACCOUNT_ID, TEST_CREDENTIALS, TEST_REGION } from './cloud';

export interface Fc2Response {
  headers: Record<string, string | undefined>;
  data: unknown;
}

/** The fc2 calls the emulator tests make; the shared declaration (src/fc/fc2.d.ts) lacks getLayerVersion. */
export interface Fc2TestClient {
  version: string;
  publishLayerVersion(layerName: string, body: object): Promise<Fc2Response>;
  listLayerVersions(layerName: string, query: Record<string, string | number>): Promise<Fc2Response>;
  getLayerVersion(layerName: string, version: number): Promise<Fc2Response>;
  deleteLayerVersion(layerName: string, version: number): Promise<Fc2Response>;
}

/** fc2 errors: `code` from ErrorCode, no status (docs/reference/alibaba-cloud.md §3.4). */
export interface Fc2Error extends Error {
  code?: string;
}

export interface Fc2ClientOptions {
  endpoint: string;
  accessKeyID?: string;
  accessKeySecret?: string;
  securityToken?: string;
  apiVersion?: string;
}

export function fc2Client(options: Fc2ClientOptions): Fc2TestClient {
  const client = new FcClient(TEST_ACCOUNT_ID, {
    accessKeyID: options.accessKeyID ?? TEST_CREDENTIALS.accessKeyId,
    accessKeySecret: options.accessKeySecret ?? TEST_CREDENTIALS.accessKeySecret,
    securityToken: options.securityToken ?? TEST_CREDENTIALS.securityToken,
    region: TEST_REGION,
    endpoint: options.endpoint,
    timeout: 10_000,
  });
  // The one API its `FC` scheme is documented for, and the only one a new account takes it on.
  client.version = options.apiVersion ?? '2016-08-15';
  // The runtime object has getLayerVersion; only the shared declaration leaves it out.
  return client as unknown as Fc2TestClient;
}
