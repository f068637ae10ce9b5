import FcClient from '@alicloud/fc2/lib/client.js';
import { createHash } from 'node:crypto';
import { type FcTransport, type TransportOptions, sendHttp } from './http';

/**
 * The only file that knows @alicloud/fc2, for API 2016-08-15, the pairing Alibaba documents for the
 * legacy `FC` scheme (docs/reference/alibaba-cloud.md §3.1). fc2's own headers, Content-MD5 and signature are used
 * as they are; the request is sent by sendHttp so the status and either error casing can be read.
 */
export function fc2Transport(options: TransportOptions): FcTransport {
  const client = new FcClient(options.accountId, {
    accessKeyID: options.credentials.accessKeyId,
    accessKeySecret: options.credentials.accessKeySecret,
    securityToken: options.credentials.securityToken,
    region: options.region,
    endpoint: options.endpoint.origin,
    timeout: options.timeoutMs,
  });
  client.version = options.apiVersion;
  return (call) => {
    // fc2 puts the layer name into its paths as it is (its names are [A-Za-z0-9_-] anyway).
    const resource = `/${client.version}/${call.segments.join('/')}`;
    const url = new URL(client.endpoint + resource);
    for (const [name, value] of Object.entries(call.query)) url.searchParams.set(name, value);
    const headers: Record<string, string> = { ...client.buildHeaders() };
    let payload: Buffer | undefined;
    if (call.body !== undefined) {
      payload = Buffer.from(JSON.stringify(call.body), 'utf8');
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
      // fc2's Content-MD5 is base64 of the hex digest, not of the raw one, and that is what FC checks.
      headers['content-md5'] = Buffer.from(createHash('md5').update(payload).digest('hex'), 'utf8').toString('base64');
    }
    headers.authorization = FcClient.getSignature(client.accessKeyID, client.accessKeySecret, call.method, resource, headers, null);
    return sendHttp(url, call.method, headers, payload, options.timeoutMs);
  };
}
