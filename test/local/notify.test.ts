import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOssEmulator } from '../../src/emulator';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';
import { WEBHOOK_SECRET_FILE, dingTalkPreviews, webhookVariables } from '../../src/local/notify';
import { TEST_WEBHOOK_SECRET } from '../support/receiver';

/** `npm start --notify <url>`: the handler's variables, and what a DingTalk robot would be sent. */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-notify-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--notify', () => {
  it('makes a secret once, readable by its owner alone, and keeps it across starts', async () => {
    const first = await webhookVariables('http://127.0.0.1:8080/hook', dir, {});
    const file = join(dir, WEBHOOK_SECRET_FILE);
    expect(first).toEqual({
      variables: { NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:8080/hook', NOTIFY_WEBHOOK_SECRET: expect.stringMatching(/^[0-9a-f]{48}$/) },
      secretFrom: file,
    });
    expect((await readFile(file, 'utf8')).trim()).toBe(first.variables.NOTIFY_WEBHOOK_SECRET);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await webhookVariables('http://127.0.0.1:8080/hook', dir, {})).variables).toEqual(first.variables);
  });

  it('takes NOTIFY_WEBHOOK_SECRET when set, and refuses what is not an http URL', async () => {
    expect(await webhookVariables('https://hooks.example.com/x', dir, { NOTIFY_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET })).toEqual({
      variables: { NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/x', NOTIFY_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET },
      secretFrom: 'NOTIFY_WEBHOOK_SECRET',
    });
    await expect(webhookVariables('ftp://127.0.0.1/hook', dir, {})).rejects.toThrow('--notify must start with http:// or https://');
    await expect(webhookVariables('not a url', dir, {})).rejects.toThrow('--notify must be a URL such as http://127.0.0.1:8080/hook');
  });

  it('prints the DingTalk message of each decision from its result in the bucket', async () => {
    const oss = createOssEmulator({ accountId: LOCAL_ACCOUNT_ID, region: LOCAL_REGION, credentials: [LOCAL_CREDENTIALS], buckets: ['local-layers'] });
    const result = {
      status: 'failed',
      layerName: 'hello-layer',
      source: { bucket: 'local-layers', key: 'layers/hello-layer.zip' },
      error: { code: 'ZipLayoutInvalid', message: 'node_modules/ is at the top: move it under nodejs/', retryable: false },
      event: { name: 'ObjectCreated:PutObject', key: 'layers/hello-layer.zip' },
      requestId: 'r',
      startedAt: '2026-12-07T04:00:00.000Z',
      finishedAt: '2026-12-07T04:00:01.000Z',
    };
    await oss.putObject('local-layers', 'layers/hello-layer.result.json', Buffer.from(JSON.stringify(result)));
    const summary = [
      { key: 'layers/hello-layer.zip', status: 'failed' as const },
      { key: 'layers/other.layer.json', status: 'waiting' as const },
    ];

    const previews = await dingTalkPreviews(oss, 'local-layers', summary, '_audit/');

    expect(previews).toHaveLength(1);
    expect(previews[0]).toContain('DingTalk would get "hello-layer: not published: ZipLayoutInvalid');
    expect(previews[0]).toContain('- error: ZipLayoutInvalid: node_modules/ is at the top: move it under nodejs/');
    expect(previews[0]).toContain('- result: oss://local-layers/layers/hello-layer.result.json');
  });
});
