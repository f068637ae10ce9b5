import { createHmac } from 'node:crypto';

/**
 * DingTalk's custom robot signing ("加签"): HMAC-SHA256 of `timestamp + "\n" + secret`, keyed with
 * the secret (the `SEC…` string), in Base64, URL-encoded, appended to the webhook as
 * `&timestamp=…&sign=…`. DingTalk refuses a timestamp more than an hour from its clock.
 */
export function dingTalkSignedUrl(webhook: URL, secret: string, timestampMs: number): URL {
  const sign = createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
  const url = new URL(webhook);
  // URLSearchParams encodes the Base64's `+`, `/` and `=` as DingTalk's own samples do (URLEncoder).
  url.searchParams.set('timestamp', String(timestampMs));
  url.searchParams.set('sign', sign);
  return url;
}

/** Headers a webhook receiver checks (docs/index-and-notices.md, "Checking a notice"). */
export const TIMESTAMP_HEADER = 'x-layer-publisher-timestamp';
export const SIGNATURE_HEADER = 'x-signature';
export const NOTICE_ID_HEADER = 'x-layer-publisher-notice';

/**
 * The webhook's `X-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with the shared secret, of
 * `<timestamp>.<body>`, the timestamp being the milliseconds in the timestamp header. Signing the
 * timestamp with the body lets a receiver refuse an old notice sent again.
 */
export function webhookSignature(secret: string, timestampMs: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampMs}.${body}`, 'utf8').digest('hex')}`;
}
