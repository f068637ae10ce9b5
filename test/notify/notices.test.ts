import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, useMswCloud } from '../support/cloud';
import { readJson } from '../support/invariants';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { TEST_DINGTALK_SECRET, TEST_DINGTALK_TOKEN, TEST_WEBHOOK_SECRET, closedPort, startReceiver, type Receiver, type Received } from '../support/receiver';
import { LAYER, RESULT_KEY, deliver, seedPair } from '../faults/scenario';
import { writtenObjects } from '../publish/helpers';

/**
 * Notices (docs/index-and-notices.md): one per decision, signed, never sent twice however often
 * the event is delivered, and never in the way of the publish when the receiver is down.
 */
const env = useMswCloud();
const receivers: Receiver[] = [];

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(answer?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const started = await startReceiver(answer);
  receivers.push(started);
  return started;
}

function webhookEnv(url: string, more: Record<string, string> = {}): Record<string, string> {
  return { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, ...more };
}

async function seed(seedText: string, manifest: object = {}) {
  return seedPair(env.cloud, { zip: nodejsLayerZip(seedText), manifest: { ...NODE_MANIFEST, ...manifest } });
}

const result = async () => (await readJson<PublishResult>(env.cloud, RESULT_KEY))!;

/** What a receiver does: recompute the signature over `<timestamp>.<body>` and compare in constant time. */
function signedByTheSecret(request: Received): boolean {
  const timestamp = String(request.headers['x-layer-publisher-timestamp']);
  const expected = Buffer.from(`sha256=${createHmac('sha256', TEST_WEBHOOK_SECRET).update(`${timestamp}.${request.body}`).digest('hex')}`);
  const given = Buffer.from(String(request.headers['x-signature']));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('a webhook', () => {
  it('gets exactly one signed notice per decision, however often the events are delivered', async () => {
    const hook = await receiver();
    const options = { env: webhookEnv(`${hook.url}/hooks/layers`) };
    const first = await seed('v1');
    for (const event of [first.zipEvent, first.manifestEvent, first.zipEvent]) await deliver([event], options);
    const second = await seed('v2');
    await Promise.all([deliver([second.zipEvent], options), deliver([second.manifestEvent], options)]);
    await deliver([second.zipEvent], options);

    expect(hook.received.map((r) => JSON.parse(r.body) as Record<string, unknown>)).toMatchObject([
      { kind: 'published', layerName: LAYER, regions: [{ region: TEST_REGION, status: 'published', version: 1 }], resultKey: RESULT_KEY },
      { kind: 'published', layerName: LAYER, regions: [{ region: TEST_REGION, status: 'published', version: 2 }] },
    ]);
    for (const request of hook.received) {
      expect(request.url.pathname).toBe('/hooks/layers');
      expect(request.headers['content-type']).toMatch(/^application\/json/);
      expect(signedByTheSecret(request)).toBe(true);
      expect(Math.abs(Number(request.headers['x-layer-publisher-timestamp']) - Date.now())).toBeLessThan(5 * 60_000);
      expect(request.headers['x-layer-publisher-notice']).toBe((JSON.parse(request.body) as { id: string }).id);
    }
    // A body changed on the way no longer matches its signature.
    expect(signedByTheSecret({ ...hook.received[0]!, body: hook.received[0]!.body.replace('"version":1', '"version":9') })).toBe(false);
    expect(await result()).toMatchObject({
      status: 'published',
      version: 2,
      notices: { kind: 'published', targets: { webhook: { status: 'sent', attempts: 1, httpStatus: 200 } } },
    });
  });

  it('every later event of the upload leaves the result with its index and notices (a field once there is never dropped)', async () => {
    const hook = await receiver();
    const options = { env: webhookEnv(`${hook.url}/hooks/layers`) };
    const pair = await seed('kept', { retain: 1 });
    await deliver([pair.zipEvent], options);
    const first = await result();
    expect(first).toMatchObject({ status: 'published', version: 1, index: { status: 'written' }, notices: { kind: 'published' } });
    for (const event of [pair.manifestEvent, pair.zipEvent, pair.manifestEvent]) {
      await deliver([event], options);
      const now = await result();
      expect(now.index).toEqual(first.index);
      expect(now.notices).toEqual(first.notices);
      expect(now.retention).toEqual(first.retention);
    }
    expect(hook.received).toHaveLength(1);
  });

  it('a delivery after one that ended before its notice (no target then, as a crash would leave it) sends it, once', async () => {
    const { zipEvent } = await seed('v1');
    await deliver([zipEvent]);
    expect(await result()).not.toHaveProperty('notices');
    const hook = await receiver();

    await deliver([zipEvent], { env: webhookEnv(hook.url) });
    await deliver([zipEvent], { env: webhookEnv(hook.url) });

    expect(hook.received.map((r) => (JSON.parse(r.body) as { kind: string; regions: unknown }).regions)).toEqual([
      [{ region: TEST_REGION, status: 'published', version: 1, arn: expect.any(String) }],
    ]);
    expect(await result()).toMatchObject({
      status: 'published',
      version: 1,
      index: { status: 'written' },
      notices: { targets: { webhook: { status: 'sent' } } },
    });
  });

  it('hears of a failure with the error in words, once', async () => {
    const hook = await receiver();
    const { zipEvent } = await seed('v1', { compatibleRuntime: ['nodjs20'] });
    await deliver([zipEvent], { env: webhookEnv(hook.url) });
    await deliver([zipEvent], { env: webhookEnv(hook.url) });

    expect(hook.received).toHaveLength(1);
    const notice = JSON.parse(hook.received[0]!.body) as Record<string, unknown>;
    expect(notice).toMatchObject({ kind: 'failed', error: { code: 'ManifestInvalid', message: expect.stringContaining('nodejs20') } });
    expect(notice.summary).toContain('not published: ManifestInvalid');
    expect(await result()).toMatchObject({ status: 'failed', notices: { kind: 'failed', targets: { webhook: { status: 'sent' } } } });
  });

  it('that refuses connections leaves the publish published, with the failed notice recorded and not sent again', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/hook`;
    const { zipEvent } = await seed('v1');
    const run = await deliver([zipEvent], { env: webhookEnv(url) });

    expect(run.error).toBeUndefined();
    expect(run.summary?.[0]).toMatchObject({ status: 'published', version: 1 });
    const written = await result();
    expect(written.notices?.targets.webhook).toMatchObject({ status: 'failed', attempts: 3, error: 'webhook: connection refused (ECONNREFUSED)' });
    const outcome = [...(await writtenObjects(env.cloud)).entries()].find(([key]) => key.startsWith(`_audit/notices/${written.notices!.id}/webhook.outcome`));
    expect(JSON.parse(outcome![1])).toMatchObject({ status: 'failed', attempts: 3 });
    // A redelivery repeats what was recorded: the notice is not tried again.
    const hook = await receiver();
    await deliver([zipEvent], { env: webhookEnv(hook.url) });
    expect(hook.received).toHaveLength(0);
  });

  it('whose recorded answer cannot be read is not sent again: the marker beside it says it was begun', async () => {
    const hook = await receiver();
    const { zipEvent } = await seed('v1');
    await deliver([zipEvent], { env: webhookEnv(hook.url) });
    const { notices } = await result();
    expect(notices?.targets.webhook).toMatchObject({ status: 'sent' });
    await env.cloud.oss.putObject(TEST_BUCKET, `_audit/notices/${notices!.id}/webhook.outcome.json`, Buffer.from(JSON.stringify({ status: 'delivered' })));

    await deliver([zipEvent], { env: webhookEnv(hook.url) });

    expect(hook.received).toHaveLength(1);
    expect((await result()).notices?.targets.webhook).toMatchObject({ status: 'unknown' });
  });

  it('answering 500 is tried again within the bound: failed after three tries, or sent once it recovers', async () => {
    const down = await receiver(() => ({ status: 500 }));
    const first = await seed('v1');
    expect((await deliver([first.zipEvent], { env: webhookEnv(down.url) })).summary?.[0]?.status).toBe('published');
    expect(down.received).toHaveLength(3);
    expect((await result()).notices?.targets.webhook).toMatchObject({ status: 'failed', attempts: 3, httpStatus: 500 });

    const flaky = await receiver((n) => ({ status: n === 1 ? 503 : 200 }));
    const second = await seed('v2');
    await deliver([second.zipEvent], { env: webhookEnv(flaky.url) });
    expect(flaky.received).toHaveLength(2);
    expect((await result()).notices?.targets.webhook).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('a 4xx is not tried again', async () => {
    const refusing = await receiver(() => ({ status: 401, body: '{"error":"bad signature"}' }));
    const { zipEvent } = await seed('v1');
    await deliver([zipEvent], { env: webhookEnv(refusing.url) });
    expect(refusing.received).toHaveLength(1);
    expect((await result()).notices?.targets.webhook).toMatchObject({ status: 'failed', attempts: 1, httpStatus: 401 });
  });

  it('the manifest\u2019s notify narrows the targets; NOTIFY_ON decides which decisions are told', async () => {
    const hook = await receiver();
    const narrowed = await seed('v1', { notify: ['dingtalk'] });
    await deliver([narrowed.zipEvent], { env: webhookEnv(hook.url) });
    expect(hook.received).toHaveLength(0);
    expect((await result()).notices?.targets.webhook).toEqual({ status: 'skipped', reason: 'not in the manifest\u2019s notify' });

    // Unchanged is told only when NOTIFY_ON asks for it.
    const same = await seed('v1');
    await deliver([same.zipEvent], { env: webhookEnv(hook.url) });
    expect((await result()).status).toBe('unchanged');
    expect(hook.received).toHaveLength(0);
    const again = await seed('v1', { description: NODE_MANIFEST.description });
    await deliver([again.zipEvent], { env: webhookEnv(hook.url, { NOTIFY_ON: 'unchanged' }) });
    expect(hook.received.map((r) => (JSON.parse(r.body) as { kind: string }).kind)).toEqual(['unchanged']);
  });

  it('never writes a secret into a log line, the result or the audit trail', async () => {
    const hook = await receiver();
    const { zipEvent } = await seed('v1');
    const run = await deliver([zipEvent], { env: webhookEnv(`${hook.url}/?token=${TEST_DINGTALK_TOKEN}`) });
    const texts = [...run.rawLines, ...(await writtenObjects(env.cloud)).values()];
    expect(hook.received).toHaveLength(1);
    for (const text of texts) {
      expect(text).not.toContain(TEST_WEBHOOK_SECRET);
      expect(text).not.toContain(TEST_DINGTALK_TOKEN);
      expect(text).not.toContain(TEST_CREDENTIALS.accessKeySecret);
    }
  });
});

describe('a DingTalk robot', () => {
  it('gets a markdown message signed as DingTalk documents: Base64 HMAC-SHA256 of timestamp + "\\n" + secret', async () => {
    const robot = await receiver(() => ({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' }));
    const { zipEvent } = await seed('v1');
    await deliver([zipEvent], {
      env: { NOTIFY_DINGTALK_WEBHOOK: `${robot.url}/robot/send?access_token=${TEST_DINGTALK_TOKEN}`, NOTIFY_DINGTALK_SECRET: TEST_DINGTALK_SECRET },
    });

    expect(robot.received).toHaveLength(1);
    const [request] = robot.received;
    const timestamp = request!.url.searchParams.get('timestamp')!;
    // DingTalk's own sample (Java): URLEncoder.encode(Base64(HmacSHA256(secret, timestamp + "\n" + secret))).
    const expected = createHmac('sha256', TEST_DINGTALK_SECRET).update(`${timestamp}\n${TEST_DINGTALK_SECRET}`).digest('base64');
    expect(request!.url.searchParams.get('sign')).toBe(expected);
    expect(request!.url.search).toContain(`sign=${encodeURIComponent(expected)}`);
    expect(request!.url.searchParams.get('access_token')).toBe(TEST_DINGTALK_TOKEN);
    expect(Math.abs(Number(timestamp) - Date.now())).toBeLessThan(60 * 60_000);
    const body = JSON.parse(request!.body) as { msgtype: string; markdown: { title: string; text: string } };
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toContain(`${LAYER}: published`);
    expect(body.markdown.text).toContain('v1');
    expect((await result()).notices?.targets.dingtalk).toMatchObject({ status: 'sent' });
  });

  it('refusing with its own errcode is a failed notice, not a retried one', async () => {
    const robot = await receiver(() => ({ status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' }));
    const { zipEvent } = await seed('v1');
    await deliver([zipEvent], {
      env: { NOTIFY_DINGTALK_WEBHOOK: `${robot.url}/robot/send?access_token=${TEST_DINGTALK_TOKEN}`, NOTIFY_DINGTALK_SECRET: TEST_DINGTALK_SECRET },
    });
    expect(robot.received).toHaveLength(1);
    expect((await result()).notices?.targets.dingtalk).toMatchObject({ status: 'failed', error: 'dingtalk: refused: errcode 310000: sign not match' });
  });
});
