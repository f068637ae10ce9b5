import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../console/io';
import type { OssEmulator } from '../emulator';
import { decisionOf } from '../follow-ups/decision';
import { classifyKey } from '../keys';
import { decisionNotice, dingTalkMessage } from '../notify/notice';
import type { PublishResult, Summary } from '../publish/result';
import { LOCAL_REGION } from '../console/local-account';

/** Where `npm start --notify` keeps the webhook's shared secret when NOTIFY_WEBHOOK_SECRET is not set. */
export const WEBHOOK_SECRET_FILE = 'webhook-secret.txt';

/**
 * `--notify <url>`: the handler's variables for a webhook target. The secret is NOTIFY_WEBHOOK_SECRET
 * when set, else one made for this data folder and kept in a file beside it (readable only by its
 * owner), which a receiver reads to check `X-Signature`; it is never printed.
 */
export async function webhookVariables(
  url: string,
  dataDir: string,
  env: Record<string, string | undefined>,
): Promise<{ variables: Record<string, string>; secretFrom: string }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--notify must be a URL such as http://127.0.0.1:8080/hook, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CliError(`--notify must start with http:// or https://, got ${JSON.stringify(url)}`);
  const given = env.NOTIFY_WEBHOOK_SECRET?.trim();
  if (given) return { variables: { NOTIFY_WEBHOOK_URL: parsed.href, NOTIFY_WEBHOOK_SECRET: given }, secretFrom: 'NOTIFY_WEBHOOK_SECRET' };
  const file = join(dataDir, WEBHOOK_SECRET_FILE);
  const kept = await readFile(file, 'utf8').then(
    (text) => text.trim(),
    () => '',
  );
  const secret = kept.length >= 16 ? kept : randomBytes(24).toString('hex');
  if (secret !== kept) await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return { variables: { NOTIFY_WEBHOOK_URL: parsed.href, NOTIFY_WEBHOOK_SECRET: secret }, secretFrom: file };
}

/**
 * What a DingTalk robot would be sent for each decision of an invocation: the same message the
 * function builds, from the result in the local bucket. Records without a decision (waiting,
 * ignored, stale) have none.
 */
export async function dingTalkPreviews(oss: OssEmulator, bucket: string, summary: Summary, auditPrefix: string): Promise<string[]> {
  const previews: string[] = [];
  for (const entry of summary) {
    const keys = entry.key === null ? undefined : classifyKey(entry.key, auditPrefix)?.keys;
    if (keys === undefined || !['published', 'unchanged', 'failed'].includes(entry.status)) continue;
    const bytes = await oss.readObject(bucket, keys.result);
    if (bytes === undefined) continue;
    const result = JSON.parse(Buffer.from(bytes).toString('utf8')) as PublishResult;
    const decision = decisionOf(result, { resultKey: keys.result, uploadId: undefined, manifest: undefined, homeRegion: LOCAL_REGION });
    if (decision === undefined) continue;
    const { markdown } = dingTalkMessage(decisionNotice(decision));
    previews.push(`DingTalk would get "${markdown.title}":\n${markdown.text.replace(/^/gm, '    ')}`);
  }
  return previews;
}
