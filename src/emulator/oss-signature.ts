import {
  type Credential,
  MAX_CLOCK_SKEW_MS,
  findCredential,
  hmacBase64,
  hmacSha256,
  isTimeWithinClockSkew,
  isWithinClockSkew,
  sameSecret,
  sha256Hex,
  tokenMatches,
} from './auth';
import { ServiceError } from './service';

/**
 * Query parameters OSS V1 signs ("sub-resources"); any other parameter (prefix, max-keys, list-type…)
 * is left out of the string to sign. https://help.aliyun.com/document_detail/31951.htm
 */
const SIGNED_SUBRESOURCES = new Set([
  'acl',
  'append',
  'bucketInfo',
  'callback',
  'callback-var',
  'cname',
  'comp',
  'continuation-token',
  'cors',
  'delete',
  'encryption',
  'endTime',
  'img',
  'inventory',
  'inventoryId',
  'lifecycle',
  'live',
  'location',
  'logging',
  'objectMeta',
  'partNumber',
  'policy',
  'position',
  'qos',
  'qosInfo',
  'referer',
  'regionList',
  'replication',
  'replicationLocation',
  'replicationProgress',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'security-token',
  'startTime',
  'stat',
  'status',
  'style',
  'styleName',
  'symlink',
  'tagging',
  'udf',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'vod',
  'website',
  'worm',
  'wormExtend',
  'wormId',
  'x-oss-process',
  'x-oss-traffic-limit',
]);

/** The query parameters of a presigned URL that carry credentials, never logged or echoed. */
const CREDENTIAL_QUERY = new Set(['Signature', 'security-token', 'x-oss-signature', 'x-oss-security-token']);

const V4_ALGORITHM = 'OSS4-HMAC-SHA256';
const V4_PRODUCT = 'oss';
const V4_TERMINATOR = 'aliyun_v4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** A V4 presigned URL lives at most 7 days (docs/reference/alibaba-cloud.md §6.1). */
const MAX_PRESIGNED_V4_SECONDS = 7 * 24 * 3600;

export interface OssResource {
  bucket: string;
  /** Decoded key; empty for bucket-level requests. */
  key: string;
  query: URLSearchParams;
}

/** Who may sign, and how, for the bucket a request addresses. */
export interface OssSignaturePolicy {
  credentials: readonly Credential[];
  /** The bucket's region as V4 scopes name it: `cn-hangzhou`, never `oss-cn-hangzhou`. */
  region: string;
  /** False as for a new account or a new bucket, which take V4 only (docs/reference/alibaba-cloud.md §0.19). */
  allowV1: boolean;
  now: Date;
}

/**
 * Throws the ServiceError OSS answers unless `request` is signed by one of the credentials: V4
 * (`OSS4-HMAC-SHA256`) or V1 (`OSS ak:sig`), in the Authorization header or as a presigned URL.
 * The algorithms are Alibaba's documented ones (header: help.aliyun.com recommend-to-use-signature-version-4;
 * URL: add-signatures-to-urls; V1: document_detail/31951), written here from those pages, not taken
 * from a client. No error carries a signature, a string to sign or a token: those reach logs.
 */
export function verifyOssSignature(request: Request, resource: OssResource, policy: OssSignaturePolicy): void {
  const authorization = request.headers.get('authorization');
  const { query } = resource;
  if (authorization !== null) {
    if (/^OSS4-HMAC-SHA256(\s|$)/.test(authorization)) {
      verifyV4Header(request, resource, policy, authorization);
      return;
    }
    if (/^OSS\s/.test(authorization)) {
      refuseV1Unless(policy);
      verifyV1Header(request, resource, policy, authorization);
      return;
    }
    throw new ServiceError(400, 'InvalidArgument', 'Authorization header is invalid: only OSS4-HMAC-SHA256 and OSS signatures are supported.');
  }
  if (query.has('x-oss-signature-version')) {
    verifyV4Query(request, resource, policy);
    return;
  }
  if (query.has('OSSAccessKeyId') || query.has('Signature')) {
    refuseV1Unless(policy);
    verifyV1Query(request, resource, policy);
    return;
  }
  throw new ServiceError(403, 'AccessDenied', 'You have no right to access this object because of bucket acl.');
}

/** The query as a request log may record it: presigned signatures and tokens masked. */
export function loggableQuery(query: URLSearchParams): Record<string, string> {
  const kept: Record<string, string> = {};
  query.forEach((value, name) => {
    kept[name] = CREDENTIAL_QUERY.has(name) ? '***' : value;
  });
  return kept;
}

/** A sub-resource that names an operation: `security-token` rides presigned URLs and names none. */
export function isSubresource(name: string): boolean {
  return SIGNED_SUBRESOURCES.has(name) && !CREDENTIAL_QUERY.has(name);
}

// ---------------------------------------------------------------------------------------- V1

function refuseV1Unless(policy: OssSignaturePolicy): void {
  if (policy.allowV1) return;
  // OSS's exact wording for this refusal is UNVERIFIED; the code and status are those of an ACL refusal.
  throw new ServiceError(403, 'AccessDenied', 'V1 signatures are not available to this account and bucket; sign the request with V4 (OSS4-HMAC-SHA256).');
}

function verifyV1Header(request: Request, resource: OssResource, policy: OssSignaturePolicy, authorization: string): void {
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(authorization);
  if (match === null) throw new ServiceError(400, 'InvalidArgument', 'Authorization header is invalid.');
  const [, accessKeyId = '', signature = ''] = match;
  const credential = authenticate(policy, accessKeyId, request.headers.get('x-oss-security-token'));
  const date = signedDate(request.headers);
  if (date === '') throw new ServiceError(403, 'AccessDenied', 'OSS authentication requires a valid Date.');
  if (!isWithinClockSkew(date, policy.now)) throw tooSkewed(date, policy.now);
  const expected = hmacBase64('sha1', credential.accessKeySecret, ossStringToSign(request, resource, date));
  if (!sameSecret(signature, expected)) throw signatureMismatch(accessKeyId);
}

function verifyV1Query(request: Request, resource: OssResource, policy: OssSignaturePolicy): void {
  const { query } = resource;
  const accessKeyId = requiredQuery(query, 'OSSAccessKeyId');
  const expires = requiredQuery(query, 'Expires');
  const signature = requiredQuery(query, 'Signature');
  const credential = authenticate(policy, accessKeyId, query.get('security-token'));
  if (!/^\d+$/.test(expires))
    throw new ServiceError(400, 'InvalidArgument', 'Expires must be a number of seconds since the epoch.', { ArgumentName: 'Expires' });
  if (policy.now.getTime() > Number(expires) * 1000) throw expired(new Date(Number(expires) * 1000), policy.now);
  // The `security-token` parameter is a sub-resource, so the canonical resource signs it.
  const expected = hmacBase64('sha1', credential.accessKeySecret, ossStringToSign(request, resource, expires));
  if (!sameSecret(signature, expected)) throw signatureMismatch(accessKeyId);
}

/** x-oss-date wins over Date when a client sends both; ali-oss sends only x-oss-date. */
function signedDate(headers: Headers): string {
  return headers.get('x-oss-date') ?? headers.get('date') ?? '';
}

/** V1: `date` is the Date (header form) or the Expires value (presigned). */
function ossStringToSign(request: Request, resource: OssResource, date: string): string {
  const { headers } = request;
  const lines = [
    request.method.toUpperCase(),
    headers.get('content-md5') ?? '',
    headers.get('content-type') ?? '',
    date,
    ...canonicalOssHeaders(headers),
    canonicalResource(resource),
  ];
  return lines.join('\n');
}

/**
 * Sorted by header name, not by the whole `name:value` line: `x-oss-copy-source-range` comes after
 * `x-oss-copy-source` however their values read, as ali-oss and OSS sort them.
 */
function canonicalOssHeaders(headers: Headers): string[] {
  const named: [string, string][] = [];
  headers.forEach((value, name) => {
    if (name.startsWith('x-oss-')) named.push([name, value.trim()]);
  });
  return named.sort(([a], [b]) => compareCodePoints(a, b)).map(([name, value]) => `${name}:${value}`);
}

function canonicalResource({ bucket, key, query }: OssResource): string {
  const subresources = [...query.entries()]
    .filter(([name]) => SIGNED_SUBRESOURCES.has(name))
    .sort(([a], [b]) => compareCodePoints(a, b))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`));
  const path = `/${bucket}/${key}`;
  return subresources.length === 0 ? path : `${path}?${subresources.join('&')}`;
}

// ---------------------------------------------------------------------------------------- V4

interface V4Credential {
  accessKeyId: string;
  /** yyyymmdd */
  date: string;
  region: string;
}

function verifyV4Header(request: Request, resource: OssResource, policy: OssSignaturePolicy, authorization: string): void {
  const fields = parseV4Authorization(authorization);
  const credential = parseV4Credential(fields.credential, 'Credential');
  const secret = authenticate(policy, credential.accessKeyId, request.headers.get('x-oss-security-token'));
  const timestamp = request.headers.get('x-oss-date');
  if (timestamp === null) throw new ServiceError(403, 'AccessDenied', 'A V4 signature requires the x-oss-date header.');
  const sentAt = parseV4Timestamp(timestamp, 'x-oss-date');
  if (!isTimeWithinClockSkew(sentAt.getTime(), policy.now)) throw tooSkewed(timestamp, policy.now);
  checkScope(credential, timestamp, policy);
  const payloadHash = request.headers.get('x-oss-content-sha256');
  if (payloadHash === null)
    throw new ServiceError(400, 'InvalidArgument', 'A V4 signature requires the x-oss-content-sha256 header.', { ArgumentName: 'x-oss-content-sha256' });
  // A real SHA-256 is signed as sent; the body itself is not hashed against it here.
  if (payloadHash !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(payloadHash)) {
    throw new ServiceError(400, 'InvalidArgument', 'x-oss-content-sha256 must be UNSIGNED-PAYLOAD or the hex SHA-256 of the body.', {
      ArgumentName: 'x-oss-content-sha256',
    });
  }
  const canonical = canonicalRequestV4(request, resource, resource.query, fields.additionalHeaders, payloadHash);
  checkV4Signature(fields.signature, canonical, timestamp, credential, secret);
}

function verifyV4Query(request: Request, resource: OssResource, policy: OssSignaturePolicy): void {
  const { query } = resource;
  if (query.get('x-oss-signature-version') !== V4_ALGORITHM) {
    throw new ServiceError(400, 'InvalidArgument', 'x-oss-signature-version must be OSS4-HMAC-SHA256.', { ArgumentName: 'x-oss-signature-version' });
  }
  const credential = parseV4Credential(requiredQuery(query, 'x-oss-credential'), 'x-oss-credential');
  const timestamp = requiredQuery(query, 'x-oss-date');
  const expires = requiredQuery(query, 'x-oss-expires');
  const signature = requiredQuery(query, 'x-oss-signature');
  const additional = query.get('x-oss-additional-headers');
  const additionalHeaders = additional === null ? [] : parseAdditionalHeaders(additional, 'x-oss-additional-headers');
  const secret = authenticate(policy, credential.accessKeyId, query.get('x-oss-security-token'));

  const signedAt = parseV4Timestamp(timestamp, 'x-oss-date');
  const lifetime = Number(expires);
  if (!/^\d+$/.test(expires) || lifetime < 1 || lifetime > MAX_PRESIGNED_V4_SECONDS) {
    throw new ServiceError(400, 'InvalidArgument', `x-oss-expires must be a whole number of seconds from 1 to ${MAX_PRESIGNED_V4_SECONDS} (7 days).`, {
      ArgumentName: 'x-oss-expires',
    });
  }
  if (signedAt.getTime() - policy.now.getTime() > MAX_CLOCK_SKEW_MS) throw tooSkewed(timestamp, policy.now);
  if (policy.now.getTime() > signedAt.getTime() + lifetime * 1000) throw expired(new Date(signedAt.getTime() + lifetime * 1000), policy.now);
  checkScope(credential, timestamp, policy);

  const signed = new URLSearchParams([...query].filter(([name]) => name !== 'x-oss-signature'));
  const canonical = canonicalRequestV4(request, resource, signed, additionalHeaders, UNSIGNED_PAYLOAD);
  checkV4Signature(signature, canonical, timestamp, credential, secret);
}

interface V4AuthorizationFields {
  credential: string;
  additionalHeaders: string[];
  signature: string;
}

/** `OSS4-HMAC-SHA256 Credential=…,AdditionalHeaders=…,Signature=…`; spaces after the commas are allowed. */
function parseV4Authorization(authorization: string): V4AuthorizationFields {
  const fields = new Map<string, string>();
  for (const part of authorization.slice(V4_ALGORITHM.length).split(',')) {
    const trimmed = part.trim();
    const split = trimmed.indexOf('=');
    const name = split === -1 ? trimmed : trimmed.slice(0, split);
    if (!['Credential', 'AdditionalHeaders', 'Signature'].includes(name)) {
      throw new ServiceError(
        400,
        'InvalidArgument',
        `Authorization header is invalid: unknown field ${JSON.stringify(name)}; expected Credential, AdditionalHeaders and Signature.`,
      );
    }
    fields.set(name, split === -1 ? '' : trimmed.slice(split + 1));
  }
  const credential = fields.get('Credential');
  const signature = fields.get('Signature');
  if (!credential) throw new ServiceError(400, 'InvalidArgument', 'Authorization header is invalid: the Credential field is missing.');
  if (!signature) throw new ServiceError(400, 'InvalidArgument', 'Authorization header is invalid: the Signature field is missing.');
  const additional = fields.get('AdditionalHeaders');
  return { credential, signature, additionalHeaders: additional === undefined ? [] : parseAdditionalHeaders(additional, 'AdditionalHeaders') };
}

/** Lower-case names, sorted, `;`-separated, none empty (OSS errors 0002-00000209 and -210). */
function parseAdditionalHeaders(value: string, field: string): string[] {
  const names = value.split(';');
  const sorted = [...names].sort(compareCodePoints);
  if (names.some((name) => name === '' || name !== name.toLowerCase()) || names.join(';') !== sorted.join(';')) {
    throw new ServiceError(400, 'InvalidArgument', `${field} must be lower-case header names, sorted and separated by semicolons, none empty.`, {
      ArgumentName: field,
    });
  }
  return names;
}

/** `<AccessKeyId>/<yyyymmdd>/<region>/oss/aliyun_v4_request` */
function parseV4Credential(value: string, field: string): V4Credential {
  const parts = value.split('/');
  const [accessKeyId = '', date = '', region = '', product, terminator] = parts;
  if (parts.length !== 5 || accessKeyId === '' || !/^\d{8}$/.test(date) || region === '' || product !== V4_PRODUCT || terminator !== V4_TERMINATOR) {
    throw new ServiceError(400, 'InvalidArgument', `${field} must be <AccessKeyId>/<yyyymmdd>/<region>/oss/aliyun_v4_request.`, { ArgumentName: field });
  }
  return { accessKeyId, date, region };
}

/** `yyyymmddTHHMMSSZ`, UTC. */
function parseV4Timestamp(value: string, field: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  const parsed = match === null ? NaN : Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!, +match[4]!, +match[5]!, +match[6]!);
  if (!Number.isFinite(parsed)) {
    throw new ServiceError(403, 'AccessDenied', `${field} must be an ISO 8601 basic UTC time such as 20261201T083000Z.`);
  }
  return new Date(parsed);
}

/** The scope's date is the timestamp's day; its region is the bucket's, without `oss-` (EC 0002-00000226). */
function checkScope(credential: V4Credential, timestamp: string, policy: OssSignaturePolicy): void {
  if (credential.date !== timestamp.slice(0, 8)) {
    throw new ServiceError(403, 'AccessDenied', 'The date in the credential scope does not match the date of the request.');
  }
  if (credential.region !== policy.region) {
    throw new ServiceError(400, 'InvalidArgument', 'Invalid signing region in Authorization header.', { EC: '0002-00000226' });
  }
}

/**
 * Verb, canonical URI (`/<bucket>/<key>` URI-encoded, `/` kept), canonical query (every parameter,
 * names and values URI-encoded, sorted, a parameter without value as its name alone), canonical
 * headers (Content-Type, Content-MD5, every x-oss-* and the additional ones, lower-case, trimmed,
 * sorted), the additional header names, the payload hash. An empty value is canonical as the name
 * alone (`prefix=` as `prefix`), as Alibaba's Go and Python V2 SDKs sign it; ali-oss 6.23 signs `prefix=`.
 */
function canonicalRequestV4(
  request: Request,
  { bucket, key }: OssResource,
  query: URLSearchParams,
  additionalHeaders: readonly string[],
  payloadHash: string,
): string {
  const uri = bucket === '' ? '/' : `/${bucket}/${key}`;
  const canonicalUri = uri.split('/').map(uriEncode).join('/');
  const canonicalQuery = [...query]
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => compareCodePoints(a, b) || compareCodePoints(x, y))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
    .join('&');
  const signedNames = new Set(additionalHeaders);
  request.headers.forEach((_value, name) => {
    if (name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-')) signedNames.add(name);
  });
  const canonicalHeaders = [...signedNames]
    .sort(compareCodePoints)
    .map((name) => `${name}:${(request.headers.get(name) ?? '').trim()}\n`)
    .join('');
  return [request.method.toUpperCase(), canonicalUri, canonicalQuery, canonicalHeaders, additionalHeaders.join(';'), payloadHash].join('\n');
}

function checkV4Signature(signature: string, canonicalRequest: string, timestamp: string, credential: V4Credential, secret: Credential): void {
  const scope = `${credential.date}/${credential.region}/${V4_PRODUCT}/${V4_TERMINATOR}`;
  const stringToSign = [V4_ALGORITHM, timestamp, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmacSha256(`aliyun_v4${secret.accessKeySecret}`, credential.date);
  for (const part of [credential.region, V4_PRODUCT, V4_TERMINATOR]) key = hmacSha256(key, part);
  const expected = hmacSha256(key, stringToSign).toString('hex');
  if (!sameSecret(signature, expected)) throw signatureMismatch(credential.accessKeyId);
}

/** RFC 3986: everything but A-Z a-z 0-9 - . _ ~ is percent-encoded, upper-case hex. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

// ---------------------------------------------------------------------------------------- both

function authenticate(policy: OssSignaturePolicy, accessKeyId: string, sentToken: string | null): Credential {
  const credential = findCredential(policy.credentials, accessKeyId);
  if (credential === undefined) {
    throw new ServiceError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', {
      OSSAccessKeyId: accessKeyId,
    });
  }
  if (!tokenMatches(credential, sentToken)) {
    throw new ServiceError(403, 'InvalidAccessKeyId', 'The security token you provided is invalid.', { OSSAccessKeyId: accessKeyId });
  }
  return credential;
}

function requiredQuery(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (value === null || value === '') {
    throw new ServiceError(400, 'InvalidArgument', `The presigned URL lacks the ${name} parameter.`, { ArgumentName: name });
  }
  return value;
}

function tooSkewed(requestTime: string, now: Date): ServiceError {
  return new ServiceError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
    RequestTime: requestTime,
    ServerTime: now.toISOString(),
  });
}

function expired(expiredAt: Date, now: Date): ServiceError {
  return new ServiceError(403, 'AccessDenied', 'Request has expired.', { Expires: expiredAt.toISOString(), ServerTime: now.toISOString() });
}

/** No StringToSign in the body, unlike OSS: it holds the security token, which must not reach logs. */
function signatureMismatch(accessKeyId: string): ServiceError {
  return new ServiceError(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    {
      OSSAccessKeyId: accessKeyId,
    },
  );
}

function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
