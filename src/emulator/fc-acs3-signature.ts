import { createHash, createHmac } from 'node:crypto';
import { type Credential, MAX_CLOCK_SKEW_MS, findCredential, sameSecret, tokenMatches } from './auth';
import { type FcCaller, requiredHeader } from './fc-signature';
import { ServiceError } from './service';

const ALGORITHM = 'ACS3-HMAC-SHA256';
/** `yyyy-MM-ddTHH:mm:ssZ`, UTC, as the V3 signature documents `x-acs-date`. */
const ACS_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const AUTHORIZATION = /^ACS3-HMAC-SHA256 Credential=([^,\s]+),SignedHeaders=([^,\s]+),Signature=([0-9a-f]{64})$/;

/**
 * Throws the ServiceError FC answers unless `request` carries a valid ACS3-HMAC-SHA256 signature,
 * computed from the request as received, following Alibaba's documented V3 algorithm
 * (https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature): written from
 * the document, not from the SDKs' code, so a client that signs differently is refused here.
 */
export function verifyAcs3Signature(request: Request, body: Uint8Array, caller: FcCaller, nonces?: NonceLog): Credential {
  const { headers } = request;
  const authorization = requiredHeader(headers, 'authorization');
  const match = AUTHORIZATION.exec(authorization);
  if (match === null) {
    throw new ServiceError(
      400,
      'InvalidArgument',
      'Authorization header is not in the form "ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<names>,Signature=<hex>".',
    );
  }
  const [, accessKeyId = '', signedList = '', signature = ''] = match;
  const date = requiredHeader(headers, 'x-acs-date');
  const nonce = requiredHeader(headers, 'x-acs-signature-nonce');
  const contentSha256 = requiredHeader(headers, 'x-acs-content-sha256');

  const credential = findCredential(caller.credentials, accessKeyId);
  if (credential === undefined) throw new ServiceError(403, 'InvalidAccessKeyID', `The access key id ${accessKeyId} does not exist.`);
  if (!tokenMatches(credential, headers.get('x-acs-security-token'))) {
    throw new ServiceError(403, 'InvalidAccessKeyID', 'The security token you provided is invalid.');
  }
  const sent = ACS_DATE.test(date) ? Date.parse(date) : Number.NaN;
  if (!Number.isFinite(sent) || Math.abs(caller.now.getTime() - sent) > MAX_CLOCK_SKEW_MS) {
    throw new ServiceError(403, 'RequestTimeTooSkewed', `The x-acs-date ${date} is not a UTC time within 15 minutes of the server time.`);
  }
  if (contentSha256 !== sha256Hex(body)) {
    throw new ServiceError(400, 'InvalidArgument', 'The x-acs-content-sha256 header does not match the body.');
  }
  const signedHeaders = signedList.split(';');
  const mustSign = ['host', ...(headers.has('content-type') ? ['content-type'] : [])];
  headers.forEach((_value, name) => {
    if (name.startsWith('x-acs-')) mustSign.push(name);
  });
  const unsigned = mustSign.find((name) => !signedHeaders.includes(name));
  if (unsigned !== undefined) throw new ServiceError(403, 'SignatureNotMatch', `The header ${unsigned} must be signed.`);
  const canonical = canonicalRequest(request, signedHeaders, contentSha256);
  const stringToSign = `${ALGORITHM}\n${sha256Hex(Buffer.from(canonical, 'utf8'))}`;
  const expected = createHmac('sha256', credential.accessKeySecret).update(stringToSign, 'utf8').digest('hex');
  if (!sameSecret(signature, expected)) {
    throw new ServiceError(403, 'SignatureNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  nonces?.remember(nonce, caller.now);
  return credential;
}

/**
 * The nonces of the signed requests of the last 15 minutes: the V3 document's `x-acs-signature-nonce`
 * is there so that a captured request cannot be sent again, and the date bounds how long to remember.
 */
export class NonceLog {
  private readonly seen = new Map<string, number>();

  /** Throws when `nonce` was used by a request accepted within the clock-skew window of `now`. */
  remember(nonce: string, now: Date): void {
    for (const [old, at] of this.seen) {
      if (now.getTime() - at > MAX_CLOCK_SKEW_MS) this.seen.delete(old);
    }
    if (this.seen.has(nonce)) throw new ServiceError(403, 'SignatureNonceUsed', `The signature nonce ${nonce} has been used already.`);
    this.seen.set(nonce, now.getTime());
  }
}

/** The canonical request of the V3 document: method, URI, query, headers, signed names, payload hash. */
export function canonicalRequest(request: Request, signedHeaders: readonly string[], contentSha256: string): string {
  const url = new URL(request.url);
  const uri = url.pathname
    .split('/')
    .map((segment) => percentEncode(safeDecode(segment)))
    .join('/');
  const query = [...url.searchParams]
    .map(([name, value]) => [percentEncode(name), percentEncode(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const headerLines = signedHeaders.map((name) => `${name}:${headerValue(request, name).trim()}\n`).join('');
  return [request.method.toUpperCase(), uri, query, headerLines, signedHeaders.join(';'), contentSha256].join('\n');
}

/** RFC 3986: everything but `A-Za-z0-9-_.~` as %XX of its UTF-8 bytes, spaces as %20. */
function percentEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `host` may be left out of a Request's headers by an in-process interceptor; the URL still has it. */
function headerValue(request: Request, name: string): string {
  const value = request.headers.get(name);
  if (value !== null) return value;
  return name === 'host' ? new URL(request.url).host : '';
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
