import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Secrets of the notice targets the tests configure: the secret scan looks for them too. */
export const TEST_WEBHOOK_SECRET = 'webhook-test-secret-do-not-log-0001';
export const TEST_DINGTALK_SECRET = 'SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd';
export const TEST_DINGTALK_TOKEN = 'dingtalk-test-access-token-do-not-log';

export interface Received {
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 that keeps every request and answers as `answer` says for the n-th
 * one (from 1): a receiver of notices, as a team would run one.
 */
export async function startReceiver(answer: (n: number) => { status: number; body?: string } = () => ({ status: 200 })): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ url: new URL(request.url ?? '/', 'http://127.0.0.1'), headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const { status, body } = answer(received.length);
      response.writeHead(status, { 'content-type': 'application/json' }).end(body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on: a server opened and closed again. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
