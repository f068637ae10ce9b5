import { type Credential, findCredential, hmacBase64, isWithinClockSkew, sameSecret, tokenMatches } from './auth';
import { ServiceError } from './service';

/**
 * Query parameters OSS V1 signs ("sub-resources"); any other parameter (prefix, max-keys, list-type…)
 * is left out of the string to sign. https://help.aliyun.com/document_detail/31951.htm
 */
const SIGNED_SUBRESOURCES = new Set([
  'acl', 'append', 'bucketInfo', 'callback', 'callback-var', 'cname', 'comp', 'continuation-token', 'cors',
  'delete', 'encryption', 'endTime', 'img', 'inventory', 'inventoryId', 'lifecycle', 'live', 'location',
  'logging', 'objectMeta', 'partNumber', 'policy', 'position', 'qos', 'qosInfo', 'referer', 'regionList',
  'replication', 'replicationLocation', 'replicationProgress', 'requestPayment', 'response-cache-control',
  'response-content-disposition', 'response-content-encoding', 'response-content-language',
  'response-content-type', 'response-expires', 'restore', 'security-token', 'startTime', 'stat', 'status',
  'style', 'styleName', 'symlink', 'tagging', 'udf', 'uploadId', 'uploads', 'versionId', 'versioning',
  'versions', 'vod', 'website', 'worm', 'wormExtend', 'wormId', 'x-oss-process', 'x-oss-traffic-limit',
]);

export interface OssResource {
  bucket: string;
  /** Decoded key; empty for bucket-level requests. */
  key: string;
  query: URLSearchParams;
}

/** Throws the ServiceError OSS answers when `request` is not signed by one of `credentials`. */
export function verifyOssV1Signature(
  request: Request,
  resource: OssResource,
  credentials: readonly Credential[],
  now: Date,
): void {
  const authorization = request.headers.get('authorization');
  if (authorization === null) {
    throw new ServiceError(403, 'AccessDenied', 'You have no right to access this object because of bucket acl.');
  }
  if (authorization.startsWith('OSS4-HMAC-SHA256')) {
    throw new ServiceError(501, 'NotImplemented', 'This emulator checks V1 signatures only; do not set authorizationV4.');
  }
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(authorization);
  if (match === null) throw new ServiceError(400, 'InvalidArgument', 'Authorization header is invalid.');
  const [, accessKeyId = '', signature = ''] = match;

  const credential = findCredential(credentials, accessKeyId);
  if (credential === undefined) {
    throw new ServiceError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', {
      OSSAccessKeyId: accessKeyId,
    });
  }
  if (!tokenMatches(credential, request.headers.get('x-oss-security-token'))) {
    throw new ServiceError(403, 'InvalidAccessKeyId', 'The security token you provided is invalid.', { OSSAccessKeyId: accessKeyId });
  }
  const date = signedDate(request.headers);
  if (date === '') throw new ServiceError(403, 'AccessDenied', 'OSS authentication requires a valid Date.');
  if (!isWithinClockSkew(date, now)) {
    throw new ServiceError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: date,
      ServerTime: now.toISOString(),
    });
  }
  const expected = hmacBase64('sha1', credential.accessKeySecret, ossStringToSign(request, resource));
  if (!sameSecret(signature, expected)) {
    // No StringToSign in the body, unlike OSS: it holds the security token, which must not reach logs.
    throw new ServiceError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
      OSSAccessKeyId: accessKeyId,
    });
  }
}

/** x-oss-date wins over Date when a client sends both; ali-oss sends only x-oss-date. */
function signedDate(headers: Headers): string {
  return headers.get('x-oss-date') ?? headers.get('date') ?? '';
}

export function ossStringToSign(request: Request, resource: OssResource): string {
  const { headers } = request;
  const lines = [
    request.method.toUpperCase(),
    headers.get('content-md5') ?? '',
    headers.get('content-type') ?? '',
    signedDate(headers),
    ...canonicalOssHeaders(headers),
    canonicalResource(resource),
  ];
  return lines.join('\n');
}

function canonicalOssHeaders(headers: Headers): string[] {
  const lines: string[] = [];
  // Headers iterates names lower-cased and sorted, which is the order OSS wants.
  headers.forEach((value, name) => {
    if (name.startsWith('x-oss-')) lines.push(`${name}:${value.trim()}`);
  });
  return lines.sort();
}

function canonicalResource({ bucket, key, query }: OssResource): string {
  const subresources = [...query.entries()]
    .filter(([name]) => SIGNED_SUBRESOURCES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`));
  const path = `/${bucket}/${key}`;
  return subresources.length === 0 ? path : `${path}?${subresources.join('&')}`;
}

export function isSubresource(name: string): boolean {
  return SIGNED_SUBRESOURCES.has(name);
}
