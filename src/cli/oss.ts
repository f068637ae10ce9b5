import OSS from 'ali-oss';
import { isIP } from 'node:net';
import { type OssSignature, parseOssSignature } from '../config';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../console/local-account';
import { regionId } from '../oss/ali-oss-store';
import { CliError } from '../console/io';

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
  const signature = signatureOf(env);
  const region = resolveRegion(target.region, endpoint, env, loopback);
  if (region === undefined && endpoint === undefined) throw new CliError('no region: pass --region (e.g. cn-hangzhou) or --endpoint');
  if (region === undefined && signature === 'v4') {
    throw new CliError(
      `no region: a V4 signature names the bucket's region and --endpoint ${endpoint!.host} does not say it; pass --region (e.g. cn-hangzhou)`,
    );
  }
  const securityToken = env.ALIBABA_CLOUD_SECURITY_TOKEN || undefined;
  const options: OSS.Options & { sldEnable?: boolean } = {
    bucket: target.bucket,
    // Only a V1 client against an endpoint that names no region gets here without one: it signs none.
    region: `oss-${region ?? LOCAL_REGION}`,
    accessKeyId,
    accessKeySecret,
    authorizationV4: signature === 'v4',
    ...(securityToken ? { stsToken: securityToken, refreshSTSTokenInterval: 24 * 3600 * 1000 } : {}),
    ...(endpoint ? { endpoint: endpoint.origin, secure: endpoint.protocol === 'https:' } : { secure: true }),
    // IP and localhost endpoints have no bucket host name: path-style, as the function does (docs/contract.md §2).
    sldEnable: endpoint !== undefined && (isIP(endpoint.hostname) !== 0 || isLoopback(endpoint.hostname)),
    timeout: 120_000,
  };
  return new OSS(options);
}

/** OSS_SIGNATURE, as the function reads it: V4 unless the user's bucket is an old one that takes V1. */
function signatureOf(env: Record<string, string | undefined>): OssSignature {
  try {
    return parseOssSignature(env.OSS_SIGNATURE);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * --region, else the region the endpoint's host names (`oss-cn-hangzhou[-internal].aliyuncs.com`,
 * with or without the bucket in front), else ALIBABA_CLOUD_REGION / FC_REGION, else the local stack's.
 */
function resolveRegion(flag: string | undefined, endpoint: URL | undefined, env: Record<string, string | undefined>, loopback: boolean): string | undefined {
  const fromEndpoint = endpoint === undefined ? undefined : regionOfHost(endpoint.hostname);
  const given = flag === undefined ? undefined : regionId(flag);
  if (given !== undefined && fromEndpoint !== undefined && given !== fromEndpoint) {
    throw new CliError(`--region ${flag} does not match --endpoint ${endpoint!.host}, which is in ${fromEndpoint}: the bucket's region must be signed`);
  }
  const fromEnv = env.ALIBABA_CLOUD_REGION || env.FC_REGION || undefined;
  return given ?? fromEndpoint ?? (fromEnv === undefined ? undefined : regionId(fromEnv)) ?? (loopback ? LOCAL_REGION : undefined);
}

function regionOfHost(hostname: string): string | undefined {
  const match = /(?:^|\.)oss-([a-z]+-[a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/.exec(hostname.toLowerCase());
  // oss-accelerate(-overseas) is global: it names no region.
  return match === null || match[1]!.startsWith('accelerate') ? undefined : match[1];
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
