import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { deleteField } from '../support/malformed';
import { POLICIES_SCRIPT, S_YAML_TEXT, loadPoliciesScript, readSYaml, type PoliciesScript, type PolicyDocument, type SYaml } from './s-yaml';

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

function policyOf(change: (sYaml: SYaml) => void = () => {}): PolicyDocument {
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
    for (const name of ['ram-policy.json', 'trust-policy.json', 'staging-lifecycle.xml']) {
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
      'oss:ListObjects',
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

  it('reads the watched prefix, the audit prefix and the index of the bucket, and writes only results, the audit prefix and the index', () => {
    const object = (pattern: string) => `acs:oss:*:*:${vars.bucket}/${pattern}`;
    expect(resourcesOf(policy, 'oss:GetObject')).toEqual([object(`${vars.prefix}*`), object(`${vars.auditPrefix}*`), object('_index/*')]);
    expect(resourcesOf(policy, 'oss:PutObject')).toEqual([object(`${vars.prefix}*.result.json`), object(`${vars.auditPrefix}*`), object('_index/*')]);
    const moved = policyOf((sYaml) => (sYaml.resources.publisher.props.environmentVariables.INDEX_PREFIX = 'public/latest/'));
    expect(resourcesOf(moved, 'oss:PutObject')).toContain(object('public/latest/*'));
  });

  it('follows a bucket, prefix, audit prefix, queue or logstore changed in s.yaml', () => {
    const changed = policyOf((sYaml) => {
      Object.assign(sYaml.vars, { bucket: 'team-b', prefix: 'in/', auditPrefix: 'ledger/', failureQueue: 'dead', logStore: 'fc', region: 'cn-shanghai' });
    });
    expect(resourcesOf(changed, 'oss:PutObject')).toEqual([
      'acs:oss:*:*:team-b/in/*.result.json',
      'acs:oss:*:*:team-b/ledger/*',
      'acs:oss:*:*:team-b/_index/*',
    ]);
    expect(resourcesOf(changed, 'mns:SendMessage')).toEqual(['acs:mns:cn-shanghai:*:/queues/dead/messages']);
    expect(resourcesOf(changed, 'log:PostLogStoreLogs')).toEqual([`acs:log:cn-shanghai:*:project/${vars.logProject}/logstore/fc`]);
  });

  it('sends to the on-failure queue and writes to the logstore of s.yaml, nowhere else', () => {
    expect(resourcesOf(policy, 'mns:SendMessage')).toEqual([`acs:mns:${vars.region}:*:/queues/${vars.failureQueue}/messages`]);
    expect(resourcesOf(policy, 'log:PostLogStoreLogs')).toEqual([`acs:log:${vars.region}:*:project/${vars.logProject}/logstore/${vars.logStore}`]);
  });

  it.each<[string, (sYaml: SYaml) => void, string]>([
    ['logConfig: auto', (s) => (s.resources.publisher.props.logConfig = 'auto'), 'logConfig: auto lets fc3 choose the log project'],
    ['no audit prefix', (s) => delete s.resources.publisher.props.environmentVariables.AUDIT_PREFIX, 'environmentVariables.AUDIT_PREFIX must be set'],
    [
      'triggers on two buckets',
      (s) => (s.resources.publisher.props.triggers[1]!.sourceArn = 'acs:oss:cn-hangzhou:1:other'),
      `share one bucket; s.yaml has ${vars.bucket}, other`,
    ],
    ['no on-failure destination', (s) => deleteField(s.resources.publisher.props.asyncInvokeConfig, 'destinationConfig'), 'onFailure.destination must be set'],
  ])('are not made from an s.yaml with %s', (_, change, message) => {
    expect(() => policyOf(change)).toThrow(message);
  });
});

describe('other regions (REGIONS in s.yaml) add their staging buckets and layer versions, and nothing else', () => {
  const REGIONS = 'cn-shanghai=team-layers-sh,cn-beijing=team-layers-bj';
  const resourcesOf = (document: PolicyDocument, action: string) =>
    document.Statement.filter((statement) => statement.Action.includes(action)).flatMap((statement) => statement.Resource);
  const withRegions = (regions: string, change: (sYaml: SYaml) => void = () => {}) =>
    policyOf((sYaml) => {
      sYaml.vars.regions = regions;
      change(sYaml);
    });

  it('s.yaml feeds the function its REGIONS from vars.regions, empty by default', () => {
    const sYaml = readSYaml();
    expect(sYaml.resources.publisher.props.environmentVariables.REGIONS).toBe('${vars.regions}');
    expect(sYaml.vars.regions).toBe('');
    expect(script.deployValues(sYaml).regions).toEqual([]);
  });

  it("lets the role stage zips under each staging bucket's <auditPrefix>staged/ alone: head, put, multipart, abort", () => {
    const policy = withRegions(REGIONS);
    const staging = policy.Statement.filter((statement) => statement.Resource.some((resource) => /team-layers-(sh|bj)/.test(resource)));
    expect(staging).toEqual([
      {
        Effect: 'Allow',
        Action: ['oss:GetObject', 'oss:PutObject', 'oss:AbortMultipartUpload'],
        Resource: [`acs:oss:*:*:team-layers-sh/${vars.auditPrefix}staged/*`, `acs:oss:*:*:team-layers-bj/${vars.auditPrefix}staged/*`],
      },
    ]);
    const changed = withRegions('ap-southeast-1=team-layers-sg', (sYaml) => (sYaml.vars.auditPrefix = 'ledger/'));
    expect(resourcesOf(changed, 'oss:AbortMultipartUpload')).toEqual(['acs:oss:*:*:team-layers-sg/ledger/staged/*']);
  });

  it('creates layer versions in each region of REGIONS besides the home one; the "*" layer actions already cover them', () => {
    const policy = withRegions(REGIONS);
    expect(resourcesOf(policy, 'fc:CreateLayerVersion')).toEqual(
      [vars.region, 'cn-shanghai', 'cn-beijing'].map((region) => `acs:fc:${region}:*:layers/*/versions/*`),
    );
    expect(resourcesOf(policy, 'fc:PutLayerACL')).toEqual(['*']);
    const fc3 = withRegions(REGIONS, (sYaml) => (sYaml.resources.publisher.props.environmentVariables.FC_API_VERSION = '2023-03-30'));
    expect(resourcesOf(fc3, 'fc:CreateLayerVersion')).toEqual(['*']);
    expect(fc3.Statement.filter((statement) => statement.Action.some((action) => action.startsWith('fc:')))).toHaveLength(1);
  });

  it('changes nothing else: the home statements are those of an s.yaml without REGIONS', () => {
    const home = policyOf();
    const policy = withRegions(REGIONS);
    const unrelated = (statement: PolicyDocument['Statement'][number]) =>
      !statement.Action.includes('fc:CreateLayerVersion') && !statement.Action.includes('oss:AbortMultipartUpload');
    expect(policy.Statement.filter(unrelated)).toEqual(home.Statement.filter(unrelated));
    expect(policy.Statement).toHaveLength(home.Statement.length + 1);
  });

  it.each([
    ['unset', (sYaml: SYaml) => delete sYaml.resources.publisher.props.environmentVariables.REGIONS],
    ['blank', (sYaml: SYaml) => (sYaml.vars.regions = ' ')],
  ])('grants nothing for other regions when REGIONS is %s', async (_, change) => {
    expect(policyOf(change)).toEqual(await committed('ram-policy.json'));
  });

  it.each<[string, string]>([
    ['cn-shanghai=team-layers-sh,cn-beijing=Team_Layers_BJ', 'REGIONS entry 2 ("cn-beijing=Team_Layers_BJ"): "Team_Layers_BJ" is not an OSS bucket name'],
    ['cn-shanghai=team-layers-sh,,cn-beijing=team-layers-bj', 'REGIONS entry 2 is empty'],
    ['oss-cn-shanghai=team-layers-sh', 'REGIONS entry 1 ("oss-cn-shanghai=team-layers-sh"): "oss-cn-shanghai" is not a region id'],
    ['cn-shanghai=team-layers-sh,cn-shanghai=team-layers-sh2', 'REGIONS entry 2 ("cn-shanghai=team-layers-sh2") names cn-shanghai again (entry 1)'],
    [`${vars.region}=team-layers-home`, `REGIONS entry "${vars.region}=team-layers-home" names ${vars.region}, the region of this function`],
    [`cn-shanghai=${vars.bucket}`, `REGIONS entry "cn-shanghai=${vars.bucket}" names the home bucket ${vars.bucket}`],
  ])('refuses REGIONS %s, naming the entry at fault', (regions, message) => {
    expect(() => withRegions(regions)).toThrow(`resources.publisher.props.environmentVariables.REGIONS: ${message}`);
  });

  it('npm run deploy:policies stops on a bad REGIONS entry, naming it, and writes nothing', async () => {
    const sYaml = readSYaml();
    sYaml.vars.regions = 'cn-shanghai=team-layers-sh,cn-beijing=team_layers_bj';
    const config = join(workDir, 'bad-regions.yaml');
    const out = await mkdtemp(join(workDir, 'out-'));
    await writeFile(config, stringify(sYaml));
    const failure = await run('--config', config, '--out', out).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain('REGIONS entry 2 ("cn-beijing=team_layers_bj")');
    expect(await readdir(out)).toEqual([]);
  });

  it("deploy/staging-lifecycle.xml expires <auditPrefix>staged/ a day after the event's last delivery and drops parts after a day", async () => {
    const xml = await readFile(join('deploy', 'staging-lifecycle.xml'), 'utf8');
    expect(xml).toContain(`<Prefix>${vars.auditPrefix}staged/</Prefix>`);
    expect(xml).toContain('<AbortMultipartUpload><Days>1</Days></AbortMultipartUpload>');
    const maxAge = readSYaml().resources.publisher.props.asyncInvokeConfig.maxAsyncEventAgeInSeconds;
    expect(xml).toContain(`<Expiration><Days>${Math.ceil(maxAge / 86_400) + 1}</Days></Expiration>`);
    const sYaml = readSYaml();
    sYaml.vars.auditPrefix = 'ledger/';
    sYaml.resources.publisher.props.asyncInvokeConfig.maxAsyncEventAgeInSeconds = 3 * 86_400 + 1;
    const changed = script.stagingLifecycle(script.deployValues(sYaml));
    expect(changed).toContain('<Prefix>ledger/staged/</Prefix>');
    expect(changed).toContain('<Expiration><Days>5</Days></Expiration>');
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

describe('the role may move exactly the functions of ROLLOUT_FUNCTIONS (docs/rollout.md)', () => {
  const withRollout = (functions: string, change: (sYaml: SYaml) => void = () => {}) =>
    policyOf((sYaml) => {
      sYaml.resources.publisher.props.environmentVariables.ROLLOUT_FUNCTIONS = functions;
      change(sYaml);
    });
  const rolloutStatements = (document: PolicyDocument) => document.Statement.filter((statement) => statement.Action.includes('fc:UpdateFunction'));

  it('s.yaml sets it empty, which grants no function action', async () => {
    expect(readSYaml().resources.publisher.props.environmentVariables.ROLLOUT_FUNCTIONS).toBe('');
    expect(rolloutStatements((await committed('ram-policy.json')) as PolicyDocument)).toEqual([]);
  });

  it("grants the update, version and alias actions on each glob, in every region the layer goes to; a key prefix is the function's to check", () => {
    const policy = withRollout('api-*,layers/team-b/=worker-?', (sYaml) => (sYaml.vars.regions = 'cn-shanghai=team-layers-sh'));
    expect(rolloutStatements(policy)).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'fc:GetFunction',
          'fc:UpdateFunction',
          'fc:PublishFunctionVersion',
          'fc:ListFunctionVersions',
          'fc:GetAlias',
          'fc:CreateAlias',
          'fc:UpdateAlias',
          'fc:ListAliases',
        ],
        Resource: [
          `acs:fc:${vars.region}:*:functions/api-*`,
          `acs:fc:${vars.region}:*:functions/worker-*`,
          'acs:fc:cn-shanghai:*:functions/api-*',
          'acs:fc:cn-shanghai:*:functions/worker-*',
        ],
      },
    ]);
    expect(policy.Statement.filter((statement) => !statement.Action.includes('fc:UpdateFunction'))).toEqual(
      policyOf((sYaml) => (sYaml.vars.regions = 'cn-shanghai=team-layers-sh')).Statement,
    );
  });

  it("refuses a bad entry with the function's own message, naming the field", () => {
    expect(() => withRollout('api users')).toThrow(
      'resources.publisher.props.environmentVariables.ROLLOUT_FUNCTIONS: ROLLOUT_FUNCTIONS entry 1 ("api users") must be a function-name glob',
    );
  });
});
