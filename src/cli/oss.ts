import OSS from 'ali-oss';
import { isIP } from 'node:net';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/account';
import { CliError } from './io';

export interface OssTarget {
  bucket: string;
  endpoint: string | undefined;
  region: string | undefined;
}

/**
 * An ali-oss client for the bucket. Credentials come from ALIBABA_CLOUD_*; against a loopback
 * endpoint (`npm start`) the local stack's fixed key is used when none is set.
 */
export function ossClient(target: OssTarget, env: Record<string, string | undefined>): OSS {
  const endpoint = target.endpoint === undefined ? undefined : parseEndpoint(target.endpoint);
  const loopback = endpoint !== undefined && isLoopback(endpoint.hostname);
  const accessKeyId = env.ALIBABA_CLOUD_ACCESS_KEY_ID || (loopback ? LOCAL_CREDENTIALS.accessKeyId : undefined);
  const accessKeySecret = env.ALIBABA_CLOUD_ACCESS_KEY_SECRET || (loopback ? LOCAL_CREDENTIALS.accessKeySecret : undefined);
  if (!accessKeyId || !accessKeySecret) {
    throw new CliError('no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS)');
  }
  const region = target.region ?? env.ALIBABA_CLOUD_REGION ?? env.FC_REGION ?? (loopback ? LOCAL_REGION : undefined);
  if (region === undefined && endpoint === undefined) throw new CliError('no region: pass --region (e.g. cn-hangzhou) or --endpoint');
  const securityToken = env.ALIBABA_CLOUD_SECURITY_TOKEN || undefined;
  const options: OSS.Options & { sldEnable?: boolean } = {
    bucket: target.bucket,
    region: `oss-${region ?? LOCAL_REGION}`,
    accessKeyId,
    accessKeySecret,
    ...(securityToken ? { stsToken: securityToken, refreshSTSTokenInterval: 24 * 3600 * 1000 } : {}),
    ...(endpoint ? { endpoint: endpoint.origin, secure: endpoint.protocol === 'https:' } : { secure: true }),
    // IP and localhost endpoints have no bucket host name: path-style, as the function does (CONTRACT §2).
    sldEnable: endpoint !== undefined && (isIP(endpoint.hostname) !== 0 || isLoopback(endpoint.hostname)),
    timeout: 120_000,
  };
  return new OSS(options);
}

function parseEndpoint(text: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // Reported below with the flag's name.
  }
  throw new CliError(`--endpoint must be a URL such as https://oss-cn-hangzhou.aliyuncs.com or http://127.0.0.1:9000, got ${JSON.stringify(text)}`);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}
