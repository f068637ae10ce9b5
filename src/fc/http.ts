import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Credentials, FcApiVersion } from '../config';

/** What an adapter needs to sign and send: below layer-api.ts, which picks the adapter. */
export interface TransportOptions {
  accountId: string;
  region: string;
  endpoint: URL;
  apiVersion: FcApiVersion;
  credentials: Credentials;
  timeoutMs: number;
}

export type FcAction =
  | 'CreateLayerVersion'
  | 'ListLayerVersions'
  | 'DeleteLayerVersion'
  | 'PutLayerACL'
  | 'ListFunctions'
  | 'ListServices'
  | 'GetFunction'
  | 'UpdateFunction'
  | 'PublishFunctionVersion'
  | 'ListFunctionVersions'
  | 'GetAlias'
  | 'CreateAlias'
  | 'UpdateAlias'
  | 'ListAliases';

/** One layer or function API call, before an adapter signs it. */
export interface FcCall {
  action: FcAction;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path after the API version, unencoded: `['layers', name, 'versions']`; each adapter encodes as its SDK does. */
  segments: string[];
  query: Record<string, string>;
  body?: object | undefined;
}

export interface FcResponse {
  status: number;
  headers: IncomingHttpHeaders;
  data: unknown;
}

/** Signs and sends one call; rejects only when no HTTP answer came back. */
export type FcTransport = (call: FcCall) => Promise<FcResponse>;

/**
 * Sends a signed request and reads the answer whole. Sent here rather than by an SDK, because the
 * SDKs throw away what a caller needs to classify a failure: fc2 the HTTP status, and each of them
 * an error code in a casing it does not model (fc2 reads only `ErrorCode`, the official SDKs only
 * `Code`/`code`, FC documents `errorCode`: docs/reference/alibaba-cloud.md §0.8, §3.3).
 */
export function sendHttp(url: URL, method: string, headers: Record<string, string>, payload: Buffer | undefined, timeoutMs: number): Promise<FcResponse> {
  return new Promise((resolve, reject) => {
    // Looked up at call time, not imported by name, so interceptors that patch the module see it.
    const outgoing = (url.protocol === 'https:' ? https : http).request(url, { method, headers, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, data: parseAnswer(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** A checksum given as a bare JSON number: its digits, before JSON.parse rounds them to a double. */
const NUMERIC_CHECKSUM = /("(?:codeChecksum|checksum)"\s*:\s*)(\d+)/g;

/**
 * The body as JSON when it is a JSON object or array, whatever the Content-Type says (a proxy or
 * gateway may drop it); otherwise the text, which the status classifies and errors quote. Checksums
 * sent as numbers are read as the decimal strings FC documents, digit for digit: 64-bit CRCs do not
 * survive a double.
 */
function parseAnswer(text: string): unknown {
  if (!/^\s*[{[]/.test(text)) return text;
  try {
    return JSON.parse(text.replace(NUMERIC_CHECKSUM, '$1"$2"'));
  } catch {
    return text;
  }
}
