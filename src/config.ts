import { ConfigError } from './errors';
import { BUCKET_NAME } from './events/oss-event';

/** Everything the function reads from its environment, parsed once per invocation (docs/contract.md §2). */
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
  /** `OSS_SIGNATURE`: V4 unless a user with an old bucket asks for V1 (docs/contract.md §2). */
  ossSignature: OssSignature;
  allowedLayers: AllowRule[];
  /** `ROLLOUT_FUNCTIONS`: which functions a manifest's `rollout` may move (docs/rollout.md); empty allows none. */
  rolloutFunctions: AllowRule[];
  /** `REGIONS`: the other regions to publish to, each with the bucket that holds its staged copies. */
  regions: RegionTarget[];
  /** `RETAIN_VERSIONS`: versions kept per layer after a publish when its manifest has no `retain`; unset keeps all. */
  retainVersions: number | undefined;
  /** `INDEX_PREFIX`: where the latest-version index lives (docs/index-and-notices.md). */
  indexPrefix: string;
  /** Where notices go and which decisions they are sent for (docs/index-and-notices.md). */
  notify: NotifyConfig;
  fallbackCredentials: Credentials | undefined;
  fallbackAccountId: string | undefined;
  fallbackRegion: string | undefined;
}

/** OSS offers V1 neither to new accounts (2025-03-01) nor to new buckets (2025-09-01): docs/reference/alibaba-cloud.md §0.19. */
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

/** The targets a notice can go to; a manifest's `notify` names some of them. */
export const NOTICE_TARGETS = ['dingtalk', 'webhook'] as const;
export type NoticeTargetName = (typeof NOTICE_TARGETS)[number];

/** What a notice is about: a decision of the function, a rollout done, or drift `verify` found. */
export const NOTICE_KINDS = ['published', 'unchanged', 'failed', 'rollout', 'drift'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];
/** `NOTIFY_ON` unset: what people ask to hear about; `unchanged` and `drift` only when asked. */
export const DEFAULT_NOTICE_KINDS: readonly NoticeKind[] = ['published', 'failed', 'rollout'];

/** A DingTalk custom robot with signing ("加签"), or a webhook that checks `X-Signature`. Both secrets come only from here. */
export type NoticeTarget = { name: 'dingtalk'; url: URL; secret: string } | { name: 'webhook'; url: URL; secret: string };

export interface NotifyConfig {
  targets: NoticeTarget[];
  on: NoticeKind[];
}

/**
 * One `ALLOWED_LAYERS` entry: layer names matching `pattern` may be published from zips under
 * `keyPrefix`; or one `ROLLOUT_FUNCTIONS` entry: functions matching it may be moved by those zips.
 */
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
/** The layer APIs the publisher speaks, each signed as Alibaba's own client for it signs (docs/contract.md §2). */
export const FC_API_VERSIONS = ['2021-04-06', '2023-03-30', '2016-08-15'] as const;
export type FcApiVersion = (typeof FC_API_VERSIONS)[number];
export const DEFAULT_FC_API_VERSION: FcApiVersion = '2021-04-06';
export const DEFAULT_AUDIT_PREFIX = '_audit/';
export const DEFAULT_INDEX_PREFIX = '_index/';
/** bench:stream: 4 ranges read ~4× a single GET when each connection is capped, for ~15 MiB more RSS. */
export const DEFAULT_READ_CONCURRENCY = 4;
/** Each range holds a socket and a window of chunks; past this, memory grows and OSS throttles. */
export const MAX_READ_CONCURRENCY = 16;

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const accessKeyId = nonEmpty(env.ALIBABA_CLOUD_ACCESS_KEY_ID);
  const accessKeySecret = nonEmpty(env.ALIBABA_CLOUD_ACCESS_KEY_SECRET);
  if ((accessKeyId === undefined) !== (accessKeySecret === undefined)) {
    throw new ConfigError('ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET must be set together (one of them is empty)');
  }
  const auditPrefix = parseAuditPrefix(env.AUDIT_PREFIX);
  return {
    ossEndpoint: parseEndpoint('OSS_ENDPOINT', env.OSS_ENDPOINT),
    fcEndpoint: parseEndpoint('FC_ENDPOINT', env.FC_ENDPOINT),
    fcApiVersion: parseApiVersion(env.FC_API_VERSION),
    auditPrefix,
    maxZipBytes: parseByteLimit('MAX_ZIP_BYTES', env.MAX_ZIP_BYTES, DEFAULT_MAX_ZIP_BYTES),
    maxUnpackedBytes: parseByteLimit('MAX_UNPACKED_BYTES', env.MAX_UNPACKED_BYTES, DEFAULT_MAX_UNPACKED_BYTES),
    readConcurrency: parseReadConcurrency(env.READ_CONCURRENCY),
    ossSignature: parseOssSignature(env.OSS_SIGNATURE),
    allowedLayers: parseAllowedLayers(env.ALLOWED_LAYERS),
    rolloutFunctions: parseRolloutFunctions(env.ROLLOUT_FUNCTIONS),
    regions: withRegionEndpoints(parseRegions(env.REGIONS), env),
    retainVersions: parseRetainVersions(env.RETAIN_VERSIONS),
    indexPrefix: parseIndexPrefix(env.INDEX_PREFIX, auditPrefix),
    notify: parseNotify(env),
    fallbackCredentials:
      accessKeyId && accessKeySecret ? { accessKeyId, accessKeySecret, securityToken: nonEmpty(env.ALIBABA_CLOUD_SECURITY_TOKEN) } : undefined,
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

function parseIndexPrefix(raw: string | undefined, auditPrefix: string): string {
  const value = nonEmpty(raw) ?? DEFAULT_INDEX_PREFIX;
  const prefix = value.endsWith('/') ? value : `${value}/`;
  if (prefix.startsWith('/') || prefix.split('/').some((part) => part === '..' || part === '.')) {
    throw new ConfigError(`INDEX_PREFIX must be a relative key prefix such as _index/, got ${JSON.stringify(value)}`);
  }
  // A bucket policy opens the index to readers: the ledger and audit records must stay out of it.
  if (prefix.startsWith(auditPrefix) || auditPrefix.startsWith(prefix)) {
    throw new ConfigError(
      `INDEX_PREFIX ${JSON.stringify(prefix)} must not contain or lie inside AUDIT_PREFIX ${JSON.stringify(auditPrefix)}: readers of the index would read the audit trail`,
    );
  }
  return prefix;
}

/**
 * `NOTIFY_DINGTALK_WEBHOOK` with `NOTIFY_DINGTALK_SECRET`, `NOTIFY_WEBHOOK_URL` with
 * `NOTIFY_WEBHOOK_SECRET`, and `NOTIFY_ON`. Each URL and secret is a secret: messages name the
 * variable, never its value.
 */
function parseNotify(env: Env): NotifyConfig {
  const targets: NoticeTarget[] = [];
  const dingtalk = secretPair(env, 'NOTIFY_DINGTALK_WEBHOOK', 'NOTIFY_DINGTALK_SECRET');
  if (dingtalk !== undefined) {
    // DingTalk shows the robot's signing secret as SEC followed by 64 hex digits.
    if (!/^SEC[0-9a-f]{16,}$/i.test(dingtalk.secret)) {
      throw new ConfigError('NOTIFY_DINGTALK_SECRET must be the robot\u2019s signing secret as DingTalk shows it (SEC followed by hex digits)');
    }
    if (!dingtalk.url.searchParams.get('access_token')) {
      throw new ConfigError(
        'NOTIFY_DINGTALK_WEBHOOK must be the robot\u2019s webhook with its access_token, such as https://oapi.dingtalk.com/robot/send?access_token=…',
      );
    }
    targets.push({ name: 'dingtalk', ...dingtalk });
  }
  const webhook = secretPair(env, 'NOTIFY_WEBHOOK_URL', 'NOTIFY_WEBHOOK_SECRET');
  if (webhook !== undefined) {
    // Shorter keys can be guessed offline from one signed notice.
    if (webhook.secret.length < 16) throw new ConfigError('NOTIFY_WEBHOOK_SECRET must be at least 16 characters (a random string shared with the receiver)');
    targets.push({ name: 'webhook', ...webhook });
  }
  return { targets, on: parseNoticeKinds(env.NOTIFY_ON) };
}

/** Query values this long are taken for tokens; shorter ones (`?v=1`, `?debug=true`) would mask common words in every line. */
const TOKEN_MIN_LENGTH = 12;

/** What the logger must scrub: each target's secret, and the tokens in its URL's query (DingTalk's access_token rides there). */
export function noticeSecrets(notify: NotifyConfig): string[] {
  return notify.targets.flatMap((target) => [target.secret, ...[...target.url.searchParams.values()].filter((value) => value.length >= TOKEN_MIN_LENGTH)]);
}

function secretPair(env: Env, urlName: string, secretName: string): { url: URL; secret: string } | undefined {
  const rawUrl = nonEmpty(env[urlName]);
  const secret = nonEmpty(env[secretName]);
  if (rawUrl === undefined && secret === undefined) return undefined;
  if (rawUrl === undefined || secret === undefined) {
    throw new ConfigError(`${urlName} and ${secretName} must be set together (${rawUrl === undefined ? urlName : secretName} is empty)`);
  }
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ConfigError(`${urlName} is not a URL (expected e.g. https://host/path)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError(`${urlName} must start with https:// (or http:// for a receiver on this machine)`);
  if (url.username || url.password) throw new ConfigError(`${urlName} must not carry a user or password: the signature authenticates the notice`);
  return { url, secret };
}

function parseNoticeKinds(raw: string | undefined): NoticeKind[] {
  const value = nonEmpty(raw);
  if (value === undefined) return [...DEFAULT_NOTICE_KINDS];
  if (value.toLowerCase() === 'none') return [];
  return value.split(',').map((entry, index) => {
    const kind = NOTICE_KINDS.find((known) => known === entry.trim().toLowerCase());
    if (kind === undefined) {
      throw new ConfigError(`NOTIFY_ON entry ${index + 1} (${JSON.stringify(entry.trim())}) must be one of ${NOTICE_KINDS.join(', ')} (or NOTIFY_ON=none)`);
    }
    return kind;
  });
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
  throw new ConfigError(`OSS_SIGNATURE must be v4 (the default) or v1 (only for an old bucket that still takes V1 signatures), got ${JSON.stringify(raw)}`);
}

/** Layer and function names are both [A-Za-z0-9_-]: one glob alphabet serves the two variables. */
const NAME_GLOB = /^[A-Za-z0-9_\-*?]+$/;

export function parseAllowedLayers(raw: string | undefined): AllowRule[] {
  return parsePrefixedGlobs('ALLOWED_LAYERS', raw, { what: 'a layer-name glob such as team-a-*', example: 'layers/team-a/=team-a-*' });
}

/** Unset allows no function: a rollout moves only functions the team handed over (docs/rollout.md). */
export function parseRolloutFunctions(raw: string | undefined): AllowRule[] {
  return parsePrefixedGlobs('ROLLOUT_FUNCTIONS', raw, { what: 'a function-name glob such as team-a-*', example: 'layers/team-a/=team-a-api-*' });
}

function parsePrefixedGlobs(variable: string, raw: string | undefined, shape: { what: string; example: string }): AllowRule[] {
  const value = nonEmpty(raw);
  if (value === undefined) return [];
  return value.split(',').map((entry, index) => {
    const source = entry.trim();
    const split = source.indexOf('=');
    const keyPrefix = split === -1 ? '' : source.slice(0, split).trim();
    const glob = split === -1 ? source : source.slice(split + 1).trim();
    if (!NAME_GLOB.test(glob)) {
      throw new ConfigError(
        `${variable} entry ${index + 1} (${JSON.stringify(source)}) must be ${shape.what} ` + `or <key prefix>=<glob> such as ${shape.example}`,
      );
    }
    return { keyPrefix, pattern: globToRegExp(glob), source };
  });
}

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[*?]/g, (c) => (c === '*' ? '.*' : '.'));
  // Names are plain [A-Za-z0-9_-], so nothing else needs escaping (NAME_GLOB enforces it).
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
