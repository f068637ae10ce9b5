import { describe, expect, it } from 'vitest';
import { DEFAULT_NOTICE_KINDS, loadConfig, noticeSecrets } from '../../src/config';
import { parseManifest } from '../../src/manifest/manifest';
import { TEST_DINGTALK_SECRET, TEST_DINGTALK_TOKEN, TEST_WEBHOOK_SECRET } from '../support/receiver';

/** INDEX_PREFIX and the NOTIFY_* variables: each mistake names its variable, never a secret's value. */
const DINGTALK = `https://oapi.dingtalk.com/robot/send?access_token=${TEST_DINGTALK_TOKEN}`;

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('INDEX_PREFIX', () => {
  it('defaults to _index/, gains its slash, and stays out of the audit prefix', () => {
    expect(loadConfig({}).indexPrefix).toBe('_index/');
    expect(loadConfig({ INDEX_PREFIX: 'public/latest' }).indexPrefix).toBe('public/latest/');
    expect(refusal({ INDEX_PREFIX: '_audit/index/' })).toContain('INDEX_PREFIX "_audit/index/" must not contain or lie inside AUDIT_PREFIX "_audit/"');
    expect(refusal({ INDEX_PREFIX: 'x/', AUDIT_PREFIX: 'x/audit/' })).toContain('INDEX_PREFIX');
    expect(refusal({ INDEX_PREFIX: '../up/' })).toContain('INDEX_PREFIX must be a relative key prefix');
  });
});

describe('notice targets', () => {
  it('none by default, and the default kinds', () => {
    expect(loadConfig({}).notify).toEqual({ targets: [], on: [...DEFAULT_NOTICE_KINDS] });
  });

  it('a DingTalk robot and a webhook, each with its secret; NOTIFY_ON chooses the kinds', () => {
    const config = loadConfig({
      NOTIFY_DINGTALK_WEBHOOK: DINGTALK,
      NOTIFY_DINGTALK_SECRET: TEST_DINGTALK_SECRET,
      NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/layers?v=1',
      NOTIFY_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      NOTIFY_ON: 'published, failed,drift',
    });
    expect(config.notify.targets.map((target) => [target.name, target.url.href])).toEqual([
      ['dingtalk', DINGTALK],
      ['webhook', 'https://hooks.example.com/layers?v=1'],
    ]);
    expect(config.notify.on).toEqual(['published', 'failed', 'drift']);
    expect(loadConfig({ NOTIFY_ON: 'none' }).notify.on).toEqual([]);
    // The logger scrubs the secrets and the access token riding in the webhook's query, not `v=1`.
    expect(noticeSecrets(config.notify)).toEqual([TEST_DINGTALK_SECRET, TEST_DINGTALK_TOKEN, TEST_WEBHOOK_SECRET]);
  });

  it('refuses a half-set pair, a bad URL, a secret of the wrong shape or an unknown kind, naming the variable and not the value', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [
        { NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/' },
        'NOTIFY_WEBHOOK_URL and NOTIFY_WEBHOOK_SECRET must be set together (NOTIFY_WEBHOOK_SECRET is empty)',
      ],
      [
        { NOTIFY_DINGTALK_SECRET: TEST_DINGTALK_SECRET },
        'NOTIFY_DINGTALK_WEBHOOK and NOTIFY_DINGTALK_SECRET must be set together (NOTIFY_DINGTALK_WEBHOOK is empty)',
      ],
      [{ NOTIFY_WEBHOOK_URL: `not a url ${TEST_WEBHOOK_SECRET}`, NOTIFY_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET }, 'NOTIFY_WEBHOOK_URL is not a URL'],
      [{ NOTIFY_WEBHOOK_URL: 'ftp://hooks.example.com/', NOTIFY_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET }, 'NOTIFY_WEBHOOK_URL must start with https://'],
      [{ NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/', NOTIFY_WEBHOOK_SECRET: 'short' }, 'NOTIFY_WEBHOOK_SECRET must be at least 16 characters'],
      [{ NOTIFY_DINGTALK_WEBHOOK: DINGTALK, NOTIFY_DINGTALK_SECRET: TEST_WEBHOOK_SECRET }, 'NOTIFY_DINGTALK_SECRET must be the robot\u2019s signing secret'],
      [
        { NOTIFY_DINGTALK_WEBHOOK: 'https://oapi.dingtalk.com/robot/send', NOTIFY_DINGTALK_SECRET: TEST_DINGTALK_SECRET },
        'NOTIFY_DINGTALK_WEBHOOK must be the robot\u2019s webhook with its access_token',
      ],
      [{ NOTIFY_ON: 'published,publsihed' }, 'NOTIFY_ON entry 2 ("publsihed") must be one of published, unchanged, failed, rollout, drift'],
    ];
    for (const [env, message] of cases) {
      const said = refusal(env);
      expect(said).toContain(message);
      expect(said).not.toContain(TEST_WEBHOOK_SECRET);
      expect(said).not.toContain(TEST_DINGTALK_SECRET);
    }
  });

  it('a manifest may narrow the targets by name, never name one that does not exist', () => {
    const manifest = (notify: unknown) => Buffer.from(JSON.stringify({ layerName: 'x', compatibleRuntime: ['nodejs20'], notify }));
    expect(parseManifest(manifest(['dingtalk']), 'x.layer.json').notify).toEqual(['dingtalk']);
    expect(parseManifest(manifest([]), 'x.layer.json').notify).toEqual([]);
    expect(() => parseManifest(manifest(['slack']), 'x.layer.json')).toThrow(/notify\[0\]: must be one of "dingtalk", "webhook", got "slack"/);
    expect(() => parseManifest(manifest(['webhook', 'webhook']), 'x.layer.json')).toThrow(/notify: lists a target more than once/);
  });
});
