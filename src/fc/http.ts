import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export type FcAction =
  | 'CreateLayerVersion'
  | 'ListLayerVersions'
  | 'DeleteLayerVersion'
  | 'PutLayerACL'
  | 'ListFunctions'
  | 'ListServices';

/** One layer API call, before an adapter signs it. */
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
 * `Code`/`code`, FC documents `errorCode`: alibaba-cloud.md §0.8, §3.3).
 */
export function sendHttp(url: URL, method: string, headers: Record<string, string>, payload: Buffer | undefined, timeoutMs: number): Promise<FcResponse> {
  return new Promise((resolve, reject) => {
    // Looked up at call time, not imported by name, so interceptors that patch the module see it.
    const outgoing = (url.protocol === 'https:' ? https : http).request(url, { method, headers, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = (response.headers['content-type'] ?? '').startsWith('application/json');
        let data: unknown = text;
        if (isJson && text !== '') {
          try {
            data = JSON.parse(text);
          } catch {
            // Kept as text: the status decides what happens, and the text is quoted in errors.
          }
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, data });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}
