import OSS from 'ali-oss';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION } from './cloud';

export interface OssClientOptions {
  endpoint: string;
  bucket?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  stsToken?: string;
  /** Milliseconds added to the client's clock (ali-oss `amendTimeSkewed`). */
  clockOffsetMs?: number;
  /** V4 (`authorizationV4`) unless a test is about V1, which new accounts cannot use. */
  signature?: 'v4' | 'v1';
  /** The region the client signs for and names in its host, without `oss-`; the test region by default. */
  region?: string;
}

/**
 * An ali-oss client for the test account. IP and localhost endpoints are addressed path-style
 * (`sldEnable`), as the contract does; `sldEnable` is missing from @types/ali-oss.
 */
export function ossClient(options: OssClientOptions): OSS {
  const { hostname } = new URL(options.endpoint);
  const pathStyle = hostname === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname);
  const clientOptions: OSS.Options & { sldEnable?: boolean; amendTimeSkewed?: number; authorizationV4?: boolean } = {
    region: `oss-${options.region ?? TEST_REGION}`,
    endpoint: options.endpoint,
    bucket: options.bucket ?? TEST_BUCKET,
    accessKeyId: options.accessKeyId ?? TEST_CREDENTIALS.accessKeyId,
    accessKeySecret: options.accessKeySecret ?? TEST_CREDENTIALS.accessKeySecret,
    stsToken: options.stsToken ?? TEST_CREDENTIALS.securityToken,
    // Silences ali-oss's per-client warning about STS tokens without a refresh (docs/reference/alibaba-cloud.md §0.14).
    refreshSTSTokenInterval: 24 * 60 * 60 * 1000,
    sldEnable: pathStyle,
    amendTimeSkewed: options.clockOffsetMs,
    authorizationV4: (options.signature ?? 'v4') === 'v4',
  };
  return new OSS(clientOptions);
}
