import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { classifyKey } from '../../src/keys';
import { DEFAULT_AUDIT_PREFIX } from '../../src/config';

interface Trigger {
  triggerType: string;
  triggerConfig: { events: string[]; filter: { key: { prefix: string; suffix: string } } };
}

const sYaml = parse(readFileSync('s.yaml', 'utf8'));
const vars: Record<string, string> = sYaml.vars;
/** s.yaml's `${vars.x}` references, resolved the way Serverless Devs does for plain vars. */
const resolve = (value: string) => value.replace(/\$\{vars\.(\w+)\}/g, (_, name: string) => vars[name] ?? '');
const publisher = sYaml.resources.publisher;
const props = publisher.props;
const triggers: Trigger[] = props.triggers;

const policy = JSON.parse(readFileSync('deploy/ram-policy.json', 'utf8')) as {
  Statement: Array<{ Effect: string; Action: string[]; Resource: string[] }>;
};

describe('s.yaml deploys the function the contract describes (CONTRACT §1, §3, §7)', () => {
  it('is an fc3 nodejs20 function built from ./dist with a role', () => {
    expect(publisher.component).toBe('fc3');
    expect(props).toMatchObject({ runtime: 'nodejs20', handler: 'index.handler', code: './dist' });
    expect(props.role).toMatch(/^acs:ram::/);
  });

  it('has two OSS triggers on one prefix: .zip and .layer.json, whole-object events only', () => {
    expect(triggers).toHaveLength(2);
    const filters = triggers.map((trigger) => trigger.triggerConfig.filter.key);
    expect(filters.map((filter) => filter.suffix).sort()).toEqual(['.layer.json', '.zip']);
    expect(new Set(filters.map((filter) => resolve(filter.prefix))).size).toBe(1);
    for (const trigger of triggers) {
      expect(trigger.triggerType).toBe('oss');
      expect([...trigger.triggerConfig.events].sort()).toEqual(
        [
          'oss:ObjectCreated:CompleteMultipartUpload',
          'oss:ObjectCreated:CopyObject',
          'oss:ObjectCreated:PostObject',
          'oss:ObjectCreated:PutObject',
        ],
      );
    }
  });

  it('no trigger matches what the function writes', () => {
    const prefix = resolve(triggers[0]!.triggerConfig.filter.key.prefix);
    const auditPrefix = props.environmentVariables.AUDIT_PREFIX ?? DEFAULT_AUDIT_PREFIX;
    const written = [`${prefix}my-layer.result.json`, `${auditPrefix}uploads/abc/claim-1.json`, `${auditPrefix}records/2026-11-24/x.json`];
    for (const key of written) {
      for (const trigger of triggers) {
        const { prefix: p, suffix } = trigger.triggerConfig.filter.key;
        expect(key.startsWith(resolve(p)) && key.endsWith(suffix)).toBe(false);
      }
      expect(classifyKey(key, auditPrefix)).toBeUndefined();
    }
  });

  it('retries failed events and keeps those that still fail', () => {
    expect(props.asyncInvokeConfig.maxAsyncRetryAttempts).toBeGreaterThanOrEqual(1);
    expect(props.asyncInvokeConfig.destinationConfig.onFailure.destination).toMatch(/^acs:mns:/);
  });
});

describe('the role gets only what it needs (deploy/ram-policy.json)', () => {
  const allows = policy.Statement.filter((statement) => statement.Effect === 'Allow');
  const actions = allows.flatMap((statement) => statement.Action);
  const resourcesOf = (action: string) =>
    allows.filter((statement) => statement.Action.includes(action)).flatMap((statement) => statement.Resource);

  it('names its actions one by one: no wildcard action, no delete of objects', () => {
    expect([...new Set(actions)].sort()).toEqual([
      'fc:CreateLayerVersion',
      'fc:DeleteLayerVersion',
      'fc:GetLayerVersion',
      'fc:ListLayerVersions',
      'mns:SendMessage',
      'oss:GetObject',
      'oss:PutObject',
    ]);
    for (const statement of allows) expect(statement.Resource).not.toContain('*');
  });

  it('writes only results and the audit prefix', () => {
    const writable = resourcesOf('oss:PutObject');
    expect(writable.length).toBeGreaterThan(0);
    for (const resource of writable) {
      expect(resource.endsWith('*.result.json') || resource.endsWith(`/${DEFAULT_AUDIT_PREFIX}*`)).toBe(true);
    }
  });

  it('reads only the watched prefix and the audit prefix', () => {
    const prefix = vars.prefix;
    for (const resource of [...resourcesOf('oss:GetObject'), ...resourcesOf('oss:PutObject')]) {
      expect(resource).toContain(`:${vars.bucket}/`);
    }
    for (const resource of resourcesOf('oss:GetObject')) {
      expect(resource.endsWith(`/${prefix}*`) || resource.endsWith(`/${DEFAULT_AUDIT_PREFIX}*`)).toBe(true);
    }
  });

  it('touches layers only, in FC', () => {
    for (const action of actions.filter((name) => name.startsWith('fc:'))) {
      for (const resource of resourcesOf(action)) expect(resource).toMatch(/^acs:fc:[^:]*:[^:]*:layers\//);
    }
  });
});
