import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyKey } from '../../src/keys';
import { loadPoliciesScript, readSYaml, type PoliciesScript, type SYamlProps } from './s-yaml';

interface Trigger {
  triggerType: string;
  invocationRole?: string;
  sourceArn: string;
  triggerConfig: { events: string[]; filter: { key: { prefix: string; suffix: string } } };
}

let script: PoliciesScript;
const sYaml = readSYaml();
const publisher = sYaml.resources.publisher;
// The props as fc3 receives them (the account aside): `${vars.x}` resolved, the shape unchanged.
let props: SYamlProps;
let triggers: Trigger[];

beforeAll(async () => {
  script = await loadPoliciesScript();
  props = script.resolveReferences(publisher.props, { vars: sYaml.vars, accountId: '1234567890123456' }, 'props') as SYamlProps;
  triggers = props.triggers;
});

describe('s.yaml deploys the function the contract describes (docs/contract.md §1, §3, §7)', () => {
  it('is an fc3 nodejs20 function with handler index.handler and a role of its own', () => {
    expect(publisher.component).toBe('fc3');
    expect(props).toMatchObject({ runtime: 'nodejs20', handler: 'index.handler' });
    expect(props.role).toBe(`acs:ram::1234567890123456:role/${sYaml.vars.roleName}`);
  });

  it('builds before it deploys (dist/ is not in git), once deploy/*.json are found current', () => {
    expect(publisher.actions['pre-deploy']).toEqual([
      { run: 'npm ci', path: './' },
      { run: 'npm run deploy:policies -- --check', path: './' },
      { run: 'npm run build', path: './' },
    ]);
  });

  it('has two OSS triggers on one bucket and prefix: .zip and .layer.json, whole-object events only', () => {
    expect(triggers).toHaveLength(2);
    const filters = triggers.map((trigger) => trigger.triggerConfig.filter.key);
    expect(filters.map((filter) => filter.suffix).sort()).toEqual(['.layer.json', '.zip']);
    expect(new Set(filters.map((filter) => filter.prefix))).toEqual(new Set([sYaml.vars.prefix]));
    for (const trigger of triggers) {
      expect(trigger.triggerType).toBe('oss');
      expect(trigger.sourceArn).toBe(`acs:oss:${sYaml.vars.region}:1234567890123456:${sYaml.vars.bucket}`);
      expect([...trigger.triggerConfig.events].sort()).toEqual([
        'oss:ObjectCreated:CompleteMultipartUpload',
        'oss:ObjectCreated:CopyObject',
        'oss:ObjectCreated:PostObject',
        'oss:ObjectCreated:PutObject',
      ]);
    }
  });

  it("leaves the triggers' invocation role to fc3, which creates it on an account that has none", () => {
    for (const trigger of triggers) expect(trigger).not.toHaveProperty('invocationRole');
  });

  it('no trigger matches what the function writes', () => {
    const auditPrefix = props.environmentVariables.AUDIT_PREFIX!;
    expect(auditPrefix).toBe(sYaml.vars.auditPrefix);
    const prefix = sYaml.vars.prefix;
    const written = [
      `${prefix}my-layer.result.json`,
      `${auditPrefix}uploads/abc/claim-1.json`,
      `${auditPrefix}records/2026-11-24/x.json`,
      // What another region's publisher watching its staging bucket the same way would see.
      `${auditPrefix}staged/abc/my-layer.zip.staged`,
    ];
    for (const key of written) {
      for (const trigger of triggers) {
        const filter = trigger.triggerConfig.filter.key;
        expect(key.startsWith(filter.prefix) && key.endsWith(filter.suffix)).toBe(false);
      }
      expect(classifyKey(key, auditPrefix)).toBeUndefined();
    }
  });

  it('retries failed events and keeps those that still fail in the MNS queue', () => {
    expect(props.asyncInvokeConfig.maxAsyncRetryAttempts).toBeGreaterThanOrEqual(1);
    expect(props.asyncInvokeConfig.destinationConfig.onFailure.destination).toBe(
      `acs:mns:${sYaml.vars.region}:1234567890123456:/queues/${sYaml.vars.failureQueue}/messages`,
    );
  });

  it('keeps the logs in a named logstore', () => {
    expect(props.logConfig).toEqual({ project: sYaml.vars.logProject, logstore: sYaml.vars.logStore });
  });
});

describe('the code package s.yaml deploys is the function bundle alone (docs/contract.md §1)', () => {
  let outdir: string;
  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'deploy-build-'));
    // The real build, into a folder of its own: the stand-in for dist/.
    await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', outdir]);
  }, 60_000);
  afterAll(async () => {
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it('is a folder under dist/ holding dist/index.js and nothing else', async () => {
    const code = posix.normalize(props.code);
    expect(code.startsWith('dist/')).toBe(true);
    const folder = join(outdir, code.slice('dist/'.length));
    expect(await readdir(folder)).toEqual(['index.js']);
    expect((await readFile(join(folder, 'index.js'))).equals(await readFile(join(outdir, 'index.js')))).toBe(true);
  });
});
