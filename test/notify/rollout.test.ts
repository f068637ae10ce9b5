import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log/logger';
import { rolloutNotice } from '../../src/notify/notice';
import { sendNotices, type NoticeDeps } from '../../src/notify/notices';
import { createOssStore } from '../../src/oss/ali-oss-store';
import { TEST_BUCKET, TEST_CREDENTIALS, TEST_REGION, useMswCloud } from '../support/cloud';
import { TEST_WEBHOOK_SECRET, startReceiver, type Receiver } from '../support/receiver';

/** What the rollout calls when it is done: one notice, once, through the same ledger markers. */
useMswCloud();
let hook: Receiver | undefined;
afterEach(async () => {
  await hook?.close();
});

function deps(url: string, on = 'rollout'): NoticeDeps {
  const { notify } = loadConfig({ NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, NOTIFY_ON: on });
  return {
    ledger: {
      store: createOssStore({ bucket: TEST_BUCKET, region: TEST_REGION, endpoint: undefined, credentials: TEST_CREDENTIALS, timeoutMs: 5_000 }),
      auditPrefix: '_audit/',
    },
    notify,
    log: createLogger({ write: () => undefined }),
    now: () => new Date(),
    budgetMs: () => 10_000,
  };
}

const rollout = {
  layerName: 'pillow',
  version: 4,
  region: TEST_REGION,
  functions: ['web/render', 'jobs/thumbs'],
  status: 'done',
  at: '2026-12-07T04:30:00.000Z',
};

describe('rolloutNotice with sendNotices', () => {
  it('sends the rollout once, however often the rollout reports it', async () => {
    hook = await startReceiver();
    const first = await sendNotices(rolloutNotice(rollout), undefined, deps(hook.url));
    const again = await sendNotices(rolloutNotice(rollout), undefined, deps(hook.url));

    expect(hook.received).toHaveLength(1);
    expect(JSON.parse(hook.received[0]!.body)).toMatchObject({
      kind: 'rollout',
      layerName: 'pillow',
      summary: `pillow: rollout of v4 in ${TEST_REGION} done (2 functions)`,
      details: { functions: ['web/render', 'jobs/thumbs'] },
    });
    expect(first).toMatchObject({ kind: 'rollout', targets: { webhook: { status: 'sent', attempts: 1 } } });
    expect(again).toEqual(first);
  });

  it('sends nothing when NOTIFY_ON leaves rollouts out, or the manifest\u2019s notify does', async () => {
    hook = await startReceiver();
    expect(await sendNotices(rolloutNotice(rollout), undefined, deps(hook.url, 'published'))).toBeUndefined();
    expect(await sendNotices(rolloutNotice({ ...rollout, version: 5 }), [], deps(hook.url))).toMatchObject({ targets: { webhook: { status: 'skipped' } } });
    expect(hook.received).toHaveLength(0);
  });
});
