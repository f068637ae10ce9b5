import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { POLICIES_SCRIPT, S_YAML_TEXT, loadPoliciesScript, readSYaml, type PoliciesScript, type PolicyDocument } from './s-yaml';

const run = (...args: string[]) => promisify(execFile)(process.execPath, [POLICIES_SCRIPT, ...args]);

let script: PoliciesScript;
let workDir: string;
beforeAll(async () => {
  script = await loadPoliciesScript();
  workDir = await mkdtemp(join(tmpdir(), 'deploy-policies-'));
});
afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const committed = async (name: string) => JSON.parse(await readFile(join('deploy', name), 'utf8')) as unknown;
const vars = readSYaml().vars;

// any: the parsed s.yaml a case changes.
function policyOf(change: (sYaml: any) => void = () => {}): PolicyDocument {
  const sYaml = readSYaml();
  change(sYaml);
  return script.ramPolicy(script.deployValues(sYaml));
}

describe('deploy/*.json are made from s.yaml (npm run deploy:policies)', () => {
  it('are what s.yaml describes now', async () => {
    await expect(run('--check')).resolves.toMatchObject({ stdout: expect.stringContaining('current with') });
  });

  it('are found stale when s.yaml names another bucket, and only the file that changes', async () => {
    const sYaml = readSYaml();
    sYaml.vars.bucket = 'another-bucket';
    const config = join(workDir, 's.yaml');
    await writeFile(config, stringify(sYaml));
    const failure = await run('--config', config, '--out', 'deploy', '--check').then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain(join('deploy', 'ram-policy.json'));
    expect(failure?.stderr).not.toContain('trust-policy.json');
    expect(failure?.stderr).toContain('npm run deploy:policies');
  });

  it('are written as committed', async () => {
    const config = join(workDir, 'unchanged.yaml');
    await writeFile(config, S_YAML_TEXT);
    await run('--config', config, '--out', workDir);
    for (const name of ['ram-policy.json', 'trust-policy.json']) {
      expect(await readFile(join(workDir, name), 'utf8')).toBe(await readFile(join('deploy', name), 'utf8'));
    }
  });
});

describe("the function's role gets what it needs and no more (deploy/ram-policy.json)", () => {
  let policy: PolicyDocument;
  beforeAll(async () => {
    policy = (await committed('ram-policy.json')) as PolicyDocument;
  });
  const resourcesOf = (document: PolicyDocument, action: string) =>
    document.Statement.filter((statement) => statement.Action.includes(action)).flatMap((statement) => statement.Resource);

  it("is in RAM's grammar: Version and Statement; Effect, Action and Resource; no Sid", () => {
    expect(Object.keys(policy)).toEqual(['Version', 'Statement']);
    expect(policy.Version).toBe('1');
    for (const statement of policy.Statement) {
      expect(Object.keys(statement)).toEqual(['Effect', 'Action', 'Resource']);
      expect(statement.Effect).toBe('Allow');
    }
  });

  it('names its actions one by one: no wildcard action, no delete of objects', () => {
    expect([...new Set(policy.Statement.flatMap((statement) => statement.Action))].sort()).toEqual([
      'fc:CreateLayerVersion',
      'fc:DeleteLayerVersion',
      'fc:GetLayerVersion',
      'fc:ListFunctions',
      'fc:ListLayerVersions',
      'fc:ListServices',
      'fc:PutLayerACL',
      'log:PostLogStoreLogs',
      'mns:SendMessage',
      'oss:GetObject',
      'oss:PutObject',
    ]);
  });

  it('grants on all resources only the layer actions that RAM grants on no narrower resource', () => {
    const onAll = policy.Statement.filter((statement) => statement.Resource.includes('*'));
    expect(onAll.flatMap((statement) => statement.Resource)).toEqual(['*']);
    expect(onAll.flatMap((statement) => statement.Action).sort()).toEqual([
      'fc:DeleteLayerVersion',
      'fc:GetLayerVersion',
      'fc:ListFunctions',
      'fc:ListLayerVersions',
      'fc:ListServices',
      'fc:PutLayerACL',
    ]);
  });

  it('creates layer versions in the region of s.yaml, or anywhere under FC 3.0, whose CreateLayerVersion takes only "*"', () => {
    expect(resourcesOf(policy, 'fc:CreateLayerVersion')).toEqual([`acs:fc:${vars.region}:*:layers/*/versions/*`]);
    const fc3 = policyOf((sYaml) => (sYaml.resources.publisher.props.environmentVariables.FC_API_VERSION = '2023-03-30'));
    expect(resourcesOf(fc3, 'fc:CreateLayerVersion')).toEqual(['*']);
    expect(fc3.Statement.filter((statement) => statement.Action.includes('fc:CreateLayerVersion'))).toHaveLength(1);
  });

  it('reads the watched prefix and the audit prefix of the bucket, and writes only results and the audit prefix', () => {
    const object = (pattern: string) => `acs:oss:*:*:${vars.bucket}/${pattern}`;
    expect(resourcesOf(policy, 'oss:GetObject')).toEqual([object(`${vars.prefix}*`), object(`${vars.auditPrefix}*`)]);
    expect(resourcesOf(policy, 'oss:PutObject')).toEqual([object(`${vars.prefix}*.result.json`), object(`${vars.auditPrefix}*`)]);
  });

  it('follows a bucket, prefix, audit prefix, queue or logstore changed in s.yaml', () => {
    const changed = policyOf((sYaml) => {
      Object.assign(sYaml.vars, { bucket: 'team-b', prefix: 'in/', auditPrefix: 'ledger/', failureQueue: 'dead', logStore: 'fc', region: 'cn-shanghai' });
    });
    expect(resourcesOf(changed, 'oss:PutObject')).toEqual(['acs:oss:*:*:team-b/in/*.result.json', 'acs:oss:*:*:team-b/ledger/*']);
    expect(resourcesOf(changed, 'mns:SendMessage')).toEqual(['acs:mns:cn-shanghai:*:/queues/dead/messages']);
    expect(resourcesOf(changed, 'log:PostLogStoreLogs')).toEqual([`acs:log:cn-shanghai:*:project/${vars.logProject}/logstore/fc`]);
  });

  it('sends to the on-failure queue and writes to the logstore of s.yaml, nowhere else', () => {
    expect(resourcesOf(policy, 'mns:SendMessage')).toEqual([`acs:mns:${vars.region}:*:/queues/${vars.failureQueue}/messages`]);
    expect(resourcesOf(policy, 'log:PostLogStoreLogs')).toEqual([`acs:log:${vars.region}:*:project/${vars.logProject}/logstore/${vars.logStore}`]);
  });

  // any: the parsed s.yaml each case changes.
  it.each<[string, (sYaml: any) => void, string]>([
    ['logConfig: auto', (s) => (s.resources.publisher.props.logConfig = 'auto'), 'logConfig: auto lets fc3 choose the log project'],
    ['no audit prefix', (s) => delete s.resources.publisher.props.environmentVariables.AUDIT_PREFIX, 'environmentVariables.AUDIT_PREFIX must be set'],
    ['triggers on two buckets', (s) => (s.resources.publisher.props.triggers[1].sourceArn = 'acs:oss:cn-hangzhou:1:other'), `share one bucket; s.yaml has ${vars.bucket}, other`],
    ['no on-failure destination', (s) => delete s.resources.publisher.props.asyncInvokeConfig.destinationConfig, 'onFailure.destination must be set'],
  ])('are not made from an s.yaml with %s', (_, change, message) => {
    expect(() => policyOf(change)).toThrow(message);
  });
});

describe('Function Compute alone may assume the role (deploy/trust-policy.json)', () => {
  it('trusts fc.aliyuncs.com with sts:AssumeRole and nothing else', async () => {
    expect(await committed('trust-policy.json')).toEqual({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: ['fc.aliyuncs.com'] } }],
    });
  });
});
