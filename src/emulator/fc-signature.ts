import { createHash } from 'node:crypto';
import { type Credential, findCredential, hmacBase64, isWithinClockSkew, sameSecret, tokenMatches } from './auth';
import { ServiceError } from './service';

export interface FcCaller {
  accountId: string;
  credentials: readonly Credential[];
  now: Date;
}

/**
 * Throws the ServiceError FC answers unless `request` carries a valid legacy `FC` signature, signed
 * as @alicloud/fc2 2.6.6 does (docs/reference/alibaba-cloud.md §3.1): HMAC-SHA256 over method, content-md5,
 * content-type, date, the sorted `x-fc-*` headers and the path without its query.
 */
export function verifyFcSignature(request: Request, path: string, body: Uint8Array, caller: FcCaller): void {
  const { headers } = request;
  const authorization = requiredHeader(headers, 'authorization');
  const date = requiredHeader(headers, 'date');
  const accountId = requiredHeader(headers, 'x-fc-account-id');
  const match = /^FC ([^:\s]+):(\S+)$/.exec(authorization);
  if (match === null) throw new ServiceError(400, 'InvalidArgument', 'Authorization header is not in the form "FC <AccessKeyID>:<Signature>".');
  const [, accessKeyId = '', signature = ''] = match;

  if (accountId !== caller.accountId) throw new ServiceError(403, 'AccessDenied', `The account ${accountId} is not this endpoint's account.`);
  const credential = findCredential(caller.credentials, accessKeyId);
  if (credential === undefined) throw new ServiceError(403, 'InvalidAccessKeyID', `The access key id ${accessKeyId} does not exist.`);
  if (!tokenMatches(credential, headers.get('x-fc-security-token'))) {
    throw new ServiceError(403, 'InvalidAccessKeyID', 'The security token you provided is invalid.');
  }
  if (!isWithinClockSkew(date, caller.now)) {
    throw new ServiceError(403, 'RequestTimeTooSkewed', `The request date ${date} is more than 15 minutes away from the server time.`);
  }
  if (!sameSecret(signature, hmacBase64('sha256', credential.accessKeySecret, fcStringToSign(request.method, path, headers)))) {
    throw new ServiceError(403, 'SignatureNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  verifyFcContentMd5(headers, body);
}

export function fcStringToSign(method: string, path: string, headers: Headers): string {
  const fcHeaders: string[] = [];
  headers.forEach((value, name) => {
    if (name.startsWith('x-fc-')) fcHeaders.push(`${name}:${value}\n`);
  });
  const head = [method.toUpperCase(), headers.get('content-md5') ?? '', headers.get('content-type') ?? '', headers.get('date') ?? ''];
  return `${head.join('\n')}\n${fcHeaders.sort().join('')}${path}`;
}

/** fc2's Content-MD5 is base64 of the hex digest string, not of the raw digest (docs/reference/testing.md §6). */
function verifyFcContentMd5(headers: Headers, body: Uint8Array): void {
  const sent = headers.get('content-md5');
  if (sent === null) return;
  const expected = Buffer.from(createHash('md5').update(body).digest('hex'), 'utf8').toString('base64');
  if (sent !== expected) throw new ServiceError(400, 'InvalidArgument', 'The Content-MD5 header does not match the body.');
}

export function requiredHeader(headers: Headers, name: string): string {
  const value = headers.get(name);
  if (value === null || value === '') throw new ServiceError(400, 'MissingRequiredHeader', `The header ${name} is required.`);
  return value;
}
