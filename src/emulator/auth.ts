import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** An access key the emulated account accepts; `securityToken` makes it an STS credential. */
export interface Credential {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** Both OSS and FC refuse a request whose date is further than this from the server's clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export function hmacBase64(algorithm: 'sha1' | 'sha256', secret: string, text: string): string {
  return createHmac(algorithm, secret).update(text, 'utf8').digest('base64');
}

export function hmacSha256(key: string | Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Constant-time, so a fake used as a local server does not leak how much of a signature matched. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** False for an unparsable date too: the services refuse those as well. */
export function isWithinClockSkew(httpDate: string, now: Date): boolean {
  return isTimeWithinClockSkew(Date.parse(httpDate), now);
}

export function isTimeWithinClockSkew(sentMs: number, now: Date): boolean {
  return Number.isFinite(sentMs) && Math.abs(now.getTime() - sentMs) <= MAX_CLOCK_SKEW_MS;
}

export function findCredential(credentials: readonly Credential[], accessKeyId: string): Credential | undefined {
  return credentials.find((credential) => credential.accessKeyId === accessKeyId);
}

/** A credential without a token must not be used with one, and an STS credential only with its own. */
export function tokenMatches(credential: Credential, sentToken: string | null): boolean {
  if (credential.securityToken === undefined) return sentToken === null;
  return sentToken !== null && sameSecret(sentToken, credential.securityToken);
}
