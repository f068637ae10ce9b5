import { expect } from 'vitest';
import { handleOssEvent } from '../../src/handler';
import type { PublishResult, Summary } from '../../src/publish/result';
import { TEST_BUCKET, TEST_CREDENTIALS, testContext, type TestCloud } from '../support/cloud';
import { recordForSecretScan } from '../support/secret-scan';

export interface Invocation {
  summary: Summary | undefined;
  error: Error | undefined;
  lines: Record<string, unknown>[];
  rawLines: string[];
}

/** Runs the handler as Function Compute would (a Buffer of JSON), collecting its log lines. */
export async function invoke(
  events: unknown[],
  options: {
    env?: Record<string, string>;
    requestId?: string;
    timeoutSeconds?: number;
    /** `context.function` as given, instead of `{ timeout: timeoutSeconds }`. */
    fn?: { timeout?: unknown };
    /** The instance's clock (a skewed one); the real clock when absent. */
    now?: () => Date;
  } = {},
): Promise<Invocation> {
  const rawLines: string[] = [];
  const context = { ...testContext(options.requestId), function: (options.fn ?? { timeout: options.timeoutSeconds ?? 60 }) as { timeout?: number } };
  let summary: Summary | undefined;
  let error: Error | undefined;
  try {
    summary = await handleOssEvent(Buffer.from(JSON.stringify({ events })), context, {
      env: options.env ?? {},
      write: (line) => rawLines.push(line),
      now: options.now,
    });
  } catch (caught) {
    error = caught as Error;
  }
  for (const line of rawLines) recordForSecretScan('handler log', line);
  if (error) recordForSecretScan('handler rejection', error.message);
  const lines = rawLines.flatMap((chunk) => chunk.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { summary, error, lines, rawLines };
}

export async function readResult(cloud: TestCloud, key: string): Promise<PublishResult | undefined> {
  const bytes = await cloud.oss.readObject(TEST_BUCKET, key);
  return bytes === undefined ? undefined : (JSON.parse(Buffer.from(bytes).toString('utf8')) as PublishResult);
}

/** Every object the function wrote (results and everything under the audit prefix), as text. */
export async function writtenObjects(cloud: TestCloud): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  for (const key of await cloud.oss.listKeys(TEST_BUCKET)) {
    if (key.endsWith('.result.json') || key.startsWith('_audit/')) {
      const bytes = await cloud.oss.readObject(TEST_BUCKET, key);
      written.set(key, Buffer.from(bytes!).toString('utf8'));
    }
  }
  return written;
}

export function expectNoSecrets(texts: Iterable<string>): void {
  for (const text of texts) {
    expect(text).not.toContain(TEST_CREDENTIALS.accessKeySecret);
    expect(text).not.toContain(TEST_CREDENTIALS.securityToken);
    expect(text).not.toMatch(/\b(OSS|FC) STS\.[^:\s]+:[A-Za-z0-9+/=]{10,}/);
    expect(text).not.toMatch(/Signature=[A-Za-z0-9%]/);
  }
}
