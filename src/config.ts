import { ConfigError } from './errors';
import { BUCKET_NAME } from './events/oss-event';

/** Everything the function reads from its environment, parsed once per invocation (CONTRACT §2). */
export interface Config {
  /** Unset means the region's internal endpoint, known only once the invocation's region is. */
  ossEndpoint: URL | undefined;
  fcEndpoint: URL | undefined;
  fcApiVersion: FcApiVersion;
  auditPrefix: string;
  maxZipBytes: number;
  /** `MAX_UNPACKED_BYTES`: the most a zip may unpack to (docs/contents.md says why this default). */
  maxUnpackedBytes: number;
  /** How many ranged GETs read one zip at once; 1 reads it with a single GET. */
  readConcurrency: number;
  /** `OSS_SIGNATURE`: V4 unless a user with an old bucket asks for V1 (CONTRACT §2). */
  ossSignature: OssSignature;
  allowedLayers: AllowRule[];
  /** `REGIONS`: the other regions to publish to, each with the bucket that holds its staged copies. */
  regions: RegionTarget[];
  /** `RETAIN_VERSIONS`: versions kept per layer after a publish when its manifest has no `retain`; unset keeps all. */
  retainVersions: number | undefined;
  fallbackCredentials: Credentials | undefined;
  fallbackAccountId: string | undefined;
  fallbackRegion: string | undefined;
}

/** OSS offers V1 neither to new accounts (2025-03-01) nor to new buckets (2025-09-01): alibaba-cloud.md §0.19. */
export type OssSignature = 'v4' | 'v1';

export interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string | undefined;
}

/** One `REGIONS` entry: publish in `region` too, staging the zip in `bucket` there (OSS cannot copy across regions). */
export interface RegionTarget {
  region: string;
  bucket: string;
  /** The entry as written, to quote it back in messages. */
  source: string;
  /** `REGION_OSS_ENDPOINTS`; unset means the region's public endpoint (internal ones do not cross regions). */
  ossEndpoint?: URL | undefined;
  /** `REGION_FC_ENDPOINTS`; unset means the region's public FC endpoint. */
  fcEndpoint?: URL | undefined;
}

/** One `ALLOWED_LAYERS` entry: layer names matching `pattern` may be published from zips under `keyPrefix`. */
export interface AllowRule {
  keyPrefix: string;
  pattern: RegExp;
  /** The entry as written, to quote it back in messages. */
  source: string;
}

export const DEFAULT_MAX_ZIP_BYTES = 524_288_000;
/**
 * Six times MAX_ZIP_BYTES (3000 MiB): a zip at the upload limit passes while it compresses up to 6:1
 * (text-heavy node_modules run 3-5:1), a zip bomb's thousand to one does not; FC documents no limit
 * and unpacks a layer into every instance that uses it (docs/contents.md).
 */
export const DEFAULT_MAX_UNPACKED_BYTES = 6 * DEFAULT_MAX_ZIP_BYTES;
/** The layer APIs the publisher speaks, each signed as Alibaba's own client for it signs (CONTRACT §2). */
export const FC_API_VERSIONS = ['2021-04-06', '2023-03-30', '2016-08-15'] as const;
export type FcApiVersion = (typeof FC_API_VERSIONS)[number];
export const DEFAULT_FC_API_VERSION: FcApiVersion = '2021-04-06';
export const DEFAULT_AUDIT_PREFIX = '_audit/';
/** bench:stream: 4 ranges read ~4× a single GET when each connection is capped, for ~15 MiB more RSS. */
export const DEFAULT_READ_CONCURRENCY = 4;
/** Each range holds a socket and a window of chunks; past this, memory grows and OSS throttles. */
export const MAX_READ_CONCURRENCY = 16;

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const accessKeyId = nonEmpty(env.ALIBABA_CLOUD_ACCESS_KEY_ID);
  const accessKeySecret = nonEmpty(env.ALIBABA_CLOUD_ACCESS_KEY_SECRET);
  if ((accessKeyId === undefined) !== (accessKeySecret === undefined)) {
    throw new ConfigError(
      'ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET must be set together (one of them is empty)',
    );
  }
  return {
    ossEndpoint: parseEndpoint('OSS_ENDPOINT', env.OSS_ENDPOINT),
    fcEndpoint: parseEndpoint('FC_ENDPOINT', env.FC_ENDPOINT),
    fcApiVersion: parseApiVersion(env.FC_API_VERSION),
    auditPrefix: parseAuditPrefix(env.AUDIT_PREFIX),
    maxZipBytes: parseByteLimit('MAX_ZIP_BYTES', env.MAX_ZIP_BYTES, DEFAULT_MAX_ZIP_BYTES),
    maxUnpackedBytes: parseByteLimit('MAX_UNPACKED_BYTES', env.MAX_UNPACKED_BYTES, DEFAULT_MAX_UNPACKED_BYTES),
    readConcurrency: parseReadConcurrency(env.READ_CONCURRENCY),
    ossSignature: parseOssSignature(env.OSS_SIGNATURE),
    allowedLayers: parseAllowedLayers(env.ALLOWED_LAYERS),
    regions: withRegionEndpoints(parseRegions(env.REGIONS), env),
    retainVersions: parseRetainVersions(env.RETAIN_VERSIONS),
    fallbackCredentials:
      accessKeyId && accessKeySecret
        ? { accessKeyId, accessKeySecret, securityToken: nonEmpty(env.ALIBABA_CLOUD_SECURITY_TOKEN) }
        : undefined,
    fallbackAccountId: nonEmpty(env.FC_ACCOUNT_ID),
    fallbackRegion: nonEmpty(env.FC_REGION),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function parseEndpoint(name: string, raw: string | undefined): URL | undefined {
  const value = nonEmpty(raw);
  if (value === undefined) return undefined;
  const shown = JSON.stringify(withoutSecrets(value));
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL: ${shown} (expected e.g. https://host or http://127.0.0.1:9000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must start with http:// or https://, got ${shown}`);
  }
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigError(`${name} must be a scheme, host and optional port only (no user, password, path or query), got ${shown}`);
  }
  return url;
}

/** The message quotes the value back, but never a password or a query that may carry a token. */
function withoutSecrets(value: string): string {
  return value.replace(/\/\/[^/@]*@/, '//***@').replace(/[?#].*$/, '?***');
}

function parseApiVersion(raw: string | undefined): FcApiVersion {
  const value = nonEmpty(raw) ?? DEFAULT_FC_API_VERSION;
  const known = FC_API_VERSIONS.find((version) => version === value);
  // Another version would be signed and shaped as none of Alibaba's clients does: refused, not guessed.
  if (known === undefined) {
    throw new ConfigError(`FC_API_VERSION must be one of ${FC_API_VERSIONS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return known;
}

function parseAuditPrefix(raw: string | undefined): string {
  const value = nonEmpty(raw) ?? DEFAULT_AUDIT_PREFIX;
  if (value.startsWith('/') || value.split('/').some((part) => part === '..' || part === '.')) {
    throw new ConfigError(`AUDIT_PREFIX must be a relative key prefix such as _audit/, got ${JSON.stringify(value)}`);
  }
  // A prefix without its slash would put records beside the layers, where a trigger may see them.
  return value.endsWith('/') ? value : `${value}/`;
}

function parseByteLimit(name: string, raw: string | undefined, fallback: number): number {
  const value = nonEmpty(raw);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) <= 0) {
    throw new ConfigError(`${name} must be a positive whole number of bytes, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function parseReadConcurrency(raw: string | undefined): number {
  const value = nonEmpty(raw);
  if (value === undefined) return DEFAULT_READ_CONCURRENCY;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < 1 || parsed > MAX_READ_CONCURRENCY) {
    throw new ConfigError(
      `READ_CONCURRENCY must be a whole number from 1 to ${MAX_READ_CONCURRENCY} (1 reads each zip with a single GET), got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

function parseRetainVersions(raw: string | undefined): number | undefined {
  const value = nonEmpty(raw);
  if (value === undefined) return undefined;
  // Zero would delete every version no function uses but the new one: too easy to set by mistake.
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) {
    throw new ConfigError(`RETAIN_VERSIONS must be a whole number of versions to keep, 1 or more (unset keeps them all), got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Shared with the CLI, which reads the same variable. Case and surrounding spaces do not matter. */
export function parseOssSignature(raw: string | undefined): OssSignature {
  const value = nonEmpty(raw)?.toLowerCase() ?? 'v4';
  if (value === 'v4' || value === 'v1') return value;
  throw new ConfigError(
    `OSS_SIGNATURE must be v4 (the default) or v1 (only for an old bucket that still takes V1 signatures), got ${JSON.stringify(raw)}`,
  );
}

const LAYER_GLOB = /^[A-Za-z0-9_\-*?]+$/;

export function parseAllowedLayers(raw: string | undefined): AllowRule[] {
  const value = nonEmpty(raw);
  if (value === undefined) return [];
  return value.split(',').map((entry, index) => {
    const source = entry.trim();
    const split = source.indexOf('=');
    const keyPrefix = split === -1 ? '' : source.slice(0, split).trim();
    const glob = split === -1 ? source : source.slice(split + 1).trim();
    if (!LAYER_GLOB.test(glob)) {
      throw new ConfigError(
        `ALLOWED_LAYERS entry ${index + 1} (${JSON.stringify(source)}) must be a layer-name glob such as team-a-* ` +
          `or <key prefix>=<glob> such as layers/team-a/=team-a-*`,
      );
    }
    return { keyPrefix, pattern: globToRegExp(glob), source };
  });
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[*?]/g, (c) => (c === '*' ? '.*' : '.'));
  // Layer names are plain [A-Za-z0-9_-], so nothing else needs escaping (LAYER_GLOB enforces it).
  return new RegExp(`^${body}$`);
}

/** Alibaba Cloud region ids as FC and the event records spell them: cn-hangzhou, ap-southeast-1, cn-shanghai-finance-1. */
export const REGION_ID = /^[a-z]{2}(-[a-z0-9]+)+$/;

/**
 * `REGIONS`: comma-separated `<region>=<bucket>` entries (`cn-shanghai=team-layers-sh`). Whether the
 * home region is among them is known only with the invocation's region (src/regions/targets.ts).
 */
export function parseRegions(raw: string | undefined): RegionTarget[] {
  const value = nonEmpty(raw);
  if (value === undefined) return [];
  const seen = new Map<string, number>();
  return value.split(',').map((entry, index) => {
    const source = entry.trim();
    const at = `REGIONS entry ${index + 1} (${JSON.stringify(source)})`;
    if (source === '') {
      throw new ConfigError(`REGIONS entry ${index + 1} is empty: remove the extra comma (expected e.g. cn-shanghai=team-layers-sh,cn-beijing=team-layers-bj)`);
    }
    const split = source.indexOf('=');
    if (split === -1) {
      throw new ConfigError(`${at} must be <region>=<bucket>, such as cn-shanghai=team-layers-sh`);
    }
    const region = source.slice(0, split).trim();
    const bucket = source.slice(split + 1).trim();
    if (!REGION_ID.test(region)) {
      const hint = region.startsWith('oss-') ? ` (without the oss- prefix: ${region.slice(4)})` : '';
      throw new ConfigError(`${at}: ${JSON.stringify(region)} is not a region id such as cn-shanghai${hint}`);
    }
    if (!BUCKET_NAME.test(bucket)) {
      throw new ConfigError(`${at}: ${JSON.stringify(bucket)} is not an OSS bucket name (3-63 lower-case letters, digits and -)`);
    }
    const earlier = seen.get(region);
    if (earlier !== undefined) {
      throw new ConfigError(`${at} names ${region} again (entry ${earlier}): one bucket per region`);
    }
    seen.set(region, index + 1);
    return { region, bucket, source };
  });
}

/**
 * `REGION_OSS_ENDPOINTS` and `REGION_FC_ENDPOINTS`: `<region>=<url>` entries for regions of `REGIONS`,
 * for a private link or the local stack; a region without one is reached on its public endpoint.
 */
function withRegionEndpoints(targets: RegionTarget[], env: Env): RegionTarget[] {
  const oss = parseRegionEndpoints('REGION_OSS_ENDPOINTS', env.REGION_OSS_ENDPOINTS, targets);
  const fc = parseRegionEndpoints('REGION_FC_ENDPOINTS', env.REGION_FC_ENDPOINTS, targets);
  return targets.map((target) => ({ ...target, ossEndpoint: oss.get(target.region), fcEndpoint: fc.get(target.region) }));
}

function parseRegionEndpoints(name: string, raw: string | undefined, targets: readonly RegionTarget[]): Map<string, URL> {
  const endpoints = new Map<string, URL>();
  const value = nonEmpty(raw);
  if (value === undefined) return endpoints;
  const configured = targets.map((target) => target.region);
  value.split(',').forEach((entry, index) => {
    const source = entry.trim();
    const at = `${name} entry ${index + 1}`;
    const split = source.indexOf('=');
    if (split === -1) throw new ConfigError(`${at} must be <region>=<url>, such as cn-shanghai=http://127.0.0.1:9010`);
    const region = source.slice(0, split).trim();
    if (!configured.includes(region)) {
      const listed = configured.length === 0 ? 'REGIONS is not set' : `REGIONS names ${configured.join(', ')}`;
      throw new ConfigError(`${at} names ${JSON.stringify(region)}, which is not a region of REGIONS (${listed})`);
    }
    if (endpoints.has(region)) throw new ConfigError(`${at} names ${region} again: one endpoint per region`);
    const url = parseEndpoint(`${at} (${region})`, source.slice(split + 1));
    if (url === undefined) throw new ConfigError(`${at} (${region}) has no URL after the =`);
    endpoints.set(region, url);
  });
  return endpoints;
}
