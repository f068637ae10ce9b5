import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { TestCloud } from './cloud';
import { TEST_BUCKET } from './cloud';

/**
 * Everything the function printed or wrote, in every test of the suite, is kept for one scan at
 * the end (test/support/secret-scan-setup.ts): docs/contract.md §8 says no secret in any line or object.
 */
export function recordForSecretScan(source: string, text: string): void {
  const dir = inject('secretScanDir');
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify({ source, text })}\n`);
}

/** Results and everything under the audit and index prefixes: what the function wrote into the bucket. */
export async function recordWrittenObjects(cloud: TestCloud): Promise<void> {
  for (const key of await cloud.oss.listKeys(TEST_BUCKET)) {
    if (!key.endsWith('.result.json') && !key.startsWith('_audit/') && !key.startsWith('_index/')) continue;
    const bytes = await cloud.oss.readObject(TEST_BUCKET, key);
    if (bytes) recordForSecretScan(`object ${key}`, Buffer.from(bytes).toString('utf8'));
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    secretScanDir: string;
  }
}
