import { type FcApiVersion, loadConfig } from '../config';
import { ConfigError } from '../errors';
import { createFcFunctions, type FunctionsApi } from '../fc/functions';
import { createFcLayers } from '../fc/layer-api';
import type { LayerApi } from '../fc/layers';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../console/local-account';
import { CliError } from '../console/io';

/** The flags of the commands that ask Function Compute (parseArgs options); `--region` is the trail's. */
export const FC_OPTIONS = {
  'fc-endpoint': { type: 'string' },
  'account-id': { type: 'string' },
} as const;

export const FC_HELP = `  --fc-endpoint <url>   Function Compute endpoint, e.g. http://127.0.0.1:9001 for npm start
                        (default: FC_ENDPOINT, else https://<account-id>.<region>.fc.aliyuncs.com)
  --account-id <id>     the Alibaba Cloud account (default: FC_ACCOUNT_ID)
`;

type Values = Record<string, string | boolean | undefined>;
type Env = Record<string, string | undefined>;

const SDK_TIMEOUT_MS = 60_000;
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** Whether the flags or the environment say where Function Compute is. */
export function fcConfigured(values: Values, env: Env): boolean {
  return [values['fc-endpoint'], values['account-id'], env.FC_ENDPOINT, env.FC_ACCOUNT_ID].some((value) => typeof value === 'string' && value !== '');
}

/**
 * The one place the CLI builds its Function Compute client, from flags, then the environment.
 * Against a loopback endpoint (`npm start`) the local stack's account, region and key stand in for
 * what is not set, as for OSS.
 */
export function fcLayerApi(values: Values, env: Env): LayerApi {
  return createFcLayers({ ...fcAccess(values, env), apiVersion: apiVersion(env) });
}

/** FC 3.0's function API, reached as fcLayerApi reaches the layer API (promote, rollback, consumers). */
export function fcFunctionsApi(values: Values, env: Env): FunctionsApi {
  return createFcFunctions(fcAccess(values, env));
}

/**
 * The regions the commands act in beside the home one: those of `REGIONS`, as the function has it,
 * each on its `REGION_FC_ENDPOINTS` entry (`npm start -- --regions` prints both), else its public
 * endpoint. Empty when REGIONS is not set.
 */
export function otherRegions(env: Env): Array<{ region: string; fcEndpoint: URL | undefined }> {
  try {
    return loadConfig({ REGIONS: env.REGIONS, REGION_FC_ENDPOINTS: env.REGION_FC_ENDPOINTS }).regions.map(({ region, fcEndpoint }) => ({ region, fcEndpoint }));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CliError(error.message);
  }
}

/** The home region: `--region`, ALIBABA_CLOUD_REGION or FC_REGION, the local stack's on a loopback endpoint. */
export function homeRegionOf(values: Values, env: Env): string {
  return fcAccess(values, env).region;
}

/**
 * The flags as they read for another region: its own endpoint (REGION_FC_ENDPOINTS, else the
 * public one), never the home region's `--fc-endpoint`.
 */
export function inRegion(values: Values, env: Env, region: string): { values: Values; env: Env } {
  if (region === homeRegionOf(values, env)) return { values, env };
  const endpoint = otherRegions(env).find((other) => other.region === region)?.fcEndpoint;
  return { values: { ...values, region, 'fc-endpoint': endpoint?.href }, env: { ...env, FC_ENDPOINT: undefined } };
}

/** The access key id the commands act as: recorded as who ran promote and rollback when --actor is not given. */
export function accessKeyIdOf(env: Env): string {
  return text(env.ALIBABA_CLOUD_ACCESS_KEY_ID) ?? LOCAL_CREDENTIALS.accessKeyId;
}

function fcAccess(values: Values, env: Env) {
  const endpointText = text(values['fc-endpoint']) ?? text(env.FC_ENDPOINT);
  const endpoint = endpointText === undefined ? undefined : parseFcEndpoint(endpointText);
  const loopback = endpoint !== undefined && LOOPBACK_HOSTS.includes(endpoint.hostname);
  const accountId = text(values['account-id']) ?? text(env.FC_ACCOUNT_ID) ?? (loopback ? LOCAL_ACCOUNT_ID : undefined);
  if (accountId === undefined) throw new CliError('no account: pass --account-id (or set FC_ACCOUNT_ID), or --fc-endpoint');
  const region = text(values.region) ?? text(env.ALIBABA_CLOUD_REGION) ?? text(env.FC_REGION) ?? (loopback ? LOCAL_REGION : undefined);
  if (region === undefined) throw new CliError('no region: pass --region (e.g. cn-hangzhou)');
  const accessKeyId = text(env.ALIBABA_CLOUD_ACCESS_KEY_ID) ?? (loopback ? LOCAL_CREDENTIALS.accessKeyId : undefined);
  const accessKeySecret = text(env.ALIBABA_CLOUD_ACCESS_KEY_SECRET) ?? (loopback ? LOCAL_CREDENTIALS.accessKeySecret : undefined);
  if (accessKeyId === undefined || accessKeySecret === undefined) {
    throw new CliError('no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS)');
  }
  return {
    accountId,
    region,
    // The CLI runs outside Alibaba Cloud's network: the public endpoint, not the function's internal one.
    endpoint: endpoint ?? new URL(`https://${accountId}.${region}.fc.aliyuncs.com`),
    credentials: { accessKeyId, accessKeySecret, securityToken: text(env.ALIBABA_CLOUD_SECURITY_TOKEN) },
    timeoutMs: SDK_TIMEOUT_MS,
  };
}

function apiVersion(env: Env): FcApiVersion {
  try {
    return loadConfig({ FC_API_VERSION: env.FC_API_VERSION }).fcApiVersion;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CliError(error.message);
  }
}

function parseFcEndpoint(value: string): URL {
  try {
    const url = new URL(value);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && (url.pathname === '/' || url.pathname === '')) return url;
  } catch {
    // Reported below with the flag's name.
  }
  throw new CliError(
    `--fc-endpoint must be a URL such as https://1234567890123456.cn-hangzhou.fc.aliyuncs.com or http://127.0.0.1:9001, got ${JSON.stringify(value)}`,
  );
}

function text(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
