import OpenApiUtil from '@alicloud/openapi-util';
import { randomBytes } from 'node:crypto';
import { type FcTransport, type TransportOptions, sendHttp } from './http';

const ALGORITHM = 'ACS3-HMAC-SHA256';
const USER_AGENT = 'oss-layer-publisher';

type SignedRequest = Parameters<typeof OpenApiUtil.getAuthorization>[0];

/**
 * APIs 2021-04-06 and 2023-03-30, signed ACS3-HMAC-SHA256 by @alicloud/openapi-util, the package
 * Alibaba's official SDKs (@alicloud/fc-open20210406, @alicloud/fc20230330) sign with. The headers
 * are the ones those SDKs set (their openapi client's doRequest), so FC sees the request it sees from
 * them; the golden tests in test/fc/ hold the two side by side. The SDKs themselves are not bundled:
 * with their clients and credential providers they would take the bundle past its 1.1 MB.
 */
export function acs3Transport(options: TransportOptions): FcTransport {
  const { accessKeyId, accessKeySecret, securityToken } = options.credentials;
  return (call) => {
    const pathname = `/${options.apiVersion}/${call.segments.map((segment) => OpenApiUtil.getEncodeParam(segment)).join('/')}`;
    const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body), 'utf8');
    const contentSha256 = OpenApiUtil.hexEncode(OpenApiUtil.hash(payload ?? Buffer.alloc(0), ALGORITHM));
    const headers: Record<string, string> = {
      host: options.endpoint.host,
      'x-acs-version': options.apiVersion,
      'x-acs-action': call.action,
      'user-agent': USER_AGENT,
      'x-acs-date': OpenApiUtil.getTimestamp(),
      'x-acs-signature-nonce': randomBytes(16).toString('hex'),
      accept: 'application/json',
      ...(payload === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      'x-acs-content-sha256': contentSha256,
      'x-acs-credentials-provider': securityToken === undefined ? 'static_ak' : 'static_sts',
      ...(securityToken === undefined ? {} : { 'x-acs-accesskey-id': accessKeyId, 'x-acs-security-token': securityToken }),
    };
    // openapi-util reads only these four fields of its tea Request.
    const signed = { pathname, method: call.method, query: call.query, headers } as SignedRequest;
    headers.authorization = OpenApiUtil.getAuthorization(signed, ALGORITHM, contentSha256, accessKeyId, accessKeySecret);
    // Not signed; the SDKs stream the body chunked instead.
    if (payload !== undefined) headers['content-length'] = String(payload.length);
    const url = new URL(pathname, options.endpoint);
    for (const [name, value] of Object.entries(call.query)) url.searchParams.set(name, value);
    return sendHttp(url, call.method, headers, payload, options.timeoutMs);
  };
}
