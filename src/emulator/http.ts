import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

export type FetchHandler = (request: Request) => Promise<Response>;

export interface ServeOptions {
  port?: number;
  host?: string;
}

export interface LoopbackServer {
  /** `http://<host>:<port>`, without a trailing slash. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves a fetch-style handler over a real socket (docs/reference/testing.md §4), so large bodies stream with
 * backpressure both ways instead of being buffered as msw does in-process.
 */
export async function serve(handler: FetchHandler, { port = 0, host = '127.0.0.1' }: ServeOptions = {}): Promise<LoopbackServer> {
  const server = createServer((req, res) => void answer(handler, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${urlHost(address.address)}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function answer(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const aborted = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) aborted.abort();
  });
  let response: Response;
  try {
    response = await handler(toRequest(req, aborted.signal));
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`Emulator failed: ${String(error)}`);
    return;
  }
  res.writeHead(response.status, response.statusText || undefined, headerPairs(response.headers));
  if (req.method === 'HEAD' || response.body === null) {
    res.end();
    return;
  }
  try {
    await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res);
  } catch (error) {
    // Headers are gone already: breaking the connection is the only way left to say the body failed.
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '');
  // fc2 sends Host without the port and ali-oss sends a cloud host name: the URL comes from the socket.
  const url = `http://${urlHost(req.socket.localAddress ?? '127.0.0.1')}:${req.socket.localPort}${req.url ?? '/'}`;
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method: req.method ?? 'GET', headers, signal };
  if (hasBody) {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return new Request(url, init);
}

function headerPairs(headers: Headers): string[] {
  const pairs: string[] = [];
  headers.forEach((value, name) => {
    pairs.push(name, value);
  });
  return pairs;
}

function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
