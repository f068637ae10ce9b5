import type { NoticeTarget } from '../config';
import { PublisherError, TransientError } from '../errors';
import { Deadline, withRetry } from '../publish/deadline';
import { type Notice, dingTalkMessage } from './notice';
import type { Delivery } from './outcome';
import { NOTICE_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, dingTalkSignedUrl, webhookSignature } from './sign';

/** One request's answer may take this long; a slower receiver counts as down for that try. */
const REQUEST_TIMEOUT_MS = 5_000;
const RETRY = { attempts: 3, baseDelayMs: 250, maxDelayMs: 1_000, reserveMs: 0 };

/**
 * Sends the notice to one target, retried on 5xx, 429, timeouts and dropped connections within
 * `budgetMs`; a 4xx (or DingTalk's own refusal) is final. Errors are described in words that never
 * quote the URL: a webhook's query and DingTalk's access token are secrets.
 */
export async function deliver(notice: Notice, target: NoticeTarget, budgetMs: number, now: () => Date): Promise<Delivery> {
  const deadline = Deadline.after(budgetMs);
  let attempts = 0;
  let httpStatus: number | undefined;
  try {
    await withRetry(
      async () => {
        attempts += 1;
        httpStatus = await post(notice, target, Math.max(1, Math.min(REQUEST_TIMEOUT_MS, deadline.remainingMs())), now);
      },
      deadline,
      RETRY,
    );
    return { status: 'sent', attempts, ...(httpStatus === undefined ? {} : { httpStatus }) };
  } catch (error) {
    const status = error instanceof PublisherError && typeof error.context.status === 'number' ? error.context.status : undefined;
    return {
      status: 'failed',
      attempts,
      ...(status === undefined ? {} : { httpStatus: status }),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

async function post(notice: Notice, target: NoticeTarget, timeoutMs: number, now: () => Date): Promise<number> {
  const timestamp = now().getTime();
  const body = JSON.stringify(target.name === 'dingtalk' ? dingTalkMessage(notice) : notice);
  const url = target.name === 'dingtalk' ? dingTalkSignedUrl(target.url, target.secret, timestamp) : target.url;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', [NOTICE_ID_HEADER]: notice.id };
  if (target.name === 'webhook') {
    headers[TIMESTAMP_HEADER] = String(timestamp);
    headers[SIGNATURE_HEADER] = webhookSignature(target.secret, timestamp, body);
  }
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (error) {
    throw new TransientError(`${target.name}: ${networkFailure(error, timeoutMs)}`);
  }
  const text = await response.text().catch(() => '');
  const context = { status: response.status };
  if (response.status === 429 || response.status >= 500) throw new TransientError(`${target.name}: HTTP ${response.status}`, { context });
  if (response.status < 200 || response.status >= 300)
    throw new PublisherError('Unavailable', `${target.name}: HTTP ${response.status}: ${text.slice(0, 200)}`, { context });
  if (target.name === 'dingtalk') refusedByDingTalk(text, response.status);
  return response.status;
}

/** DingTalk answers 200 with `errcode` 0 when it took the message; 130101 is "sent too fast", worth another try. */
function refusedByDingTalk(text: string, status: number): void {
  let answer: { errcode?: unknown; errmsg?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new PublisherError('Unavailable', `dingtalk: the answer is not DingTalk's JSON: ${text.slice(0, 200)}`, { context: { status } });
  }
  if (answer.errcode === 0) return;
  const message = `dingtalk: refused: errcode ${String(answer.errcode)}: ${String(answer.errmsg)}`;
  if (answer.errcode === 130101) throw new TransientError(message, { context: { status } });
  throw new PublisherError('Unavailable', message, { context: { status } });
}

function networkFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  return code === undefined ? 'the request failed before an answer' : `the request failed before an answer (${code})`;
}
