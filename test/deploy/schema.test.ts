import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { deleteField } from '../support/malformed';
import { S_YAML_SCHEMA } from './fc3-schema';
import { loadPoliciesScript, readSYaml, type PoliciesScript, type SYaml, type SYamlLogConfig } from './s-yaml';

let script: PoliciesScript;
beforeAll(async () => {
  script = await loadPoliciesScript();
});

// strict: a keyword ajv does not know, or a schema it reads two ways, is an error in the schema itself.
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(S_YAML_SCHEMA);

/** s.yaml as `s deploy` hands it to fc3: references resolved, the account that of the credentials. */
function resolved(sYaml: SYaml): unknown {
  return script.resolveReferences(sYaml, { vars: sYaml.vars ?? {}, accountId: '1234567890123456' }, 's.yaml');
}

/** The schema's complaints, one `<path> <message>` line each, naming the key at fault. */
function problems(document: unknown): string[] {
  if (validate(document)) return [];
  return (validate.errors ?? []).map((error) => {
    const key = (error.params as { additionalProperty?: string }).additionalProperty ?? error.propertyName;
    return `${error.instancePath || '/'} ${error.message}${key ? `: ${key}` : ''}`;
  });
}

describe('s.yaml fits fc3 and Serverless Devs, strictly (devsapp/fc3 src/schema.json)', () => {
  it('passes, references resolved', () => {
    expect(problems(resolved(readSYaml()))).toEqual([]);
  });

  it('is checked by a schema that closes every object it describes', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (Array.isArray(node)) {
        node.forEach((item, index) => {
          walk(item, `${path}/${index}`);
        });
      }
      if (!node || typeof node !== 'object') return;
      const schema = node as Record<string, unknown>;
      if (schema.type === 'object' && (schema.additionalProperties === undefined || schema.additionalProperties === true)) open.push(path);
      for (const [key, child] of Object.entries(schema)) walk(child, `${path}/${key}`);
    };
    walk(S_YAML_SCHEMA, '#');
    expect(open).toEqual([]);
  });

  // The misspelt keys are added with Object.assign: SYaml, rightly, has no such key.
  it.each<[string, (sYaml: SYaml) => void, string]>([
    [
      'a misspelt prop',
      (s) => Object.assign(s.resources.publisher.props, { memorySise: 512 }),
      '/resources/publisher/props must NOT have additional properties: memorySise',
    ],
    [
      'a misspelt filter key',
      (s) => Object.assign(s.resources.publisher.props.triggers[0]!.triggerConfig.filter.key, { prefx: 'x/' }),
      '/resources/publisher/props/triggers/0/triggerConfig/filter/key must NOT have additional properties: prefx',
    ],
    [
      'a misspelt destination',
      (s) => Object.assign(s.resources.publisher.props.asyncInvokeConfig.destinationConfig, { onFailur: {} }),
      '/resources/publisher/props/asyncInvokeConfig/destinationConfig must NOT have additional properties: onFailur',
    ],
    [
      'a misspelt resource key',
      (s) => Object.assign(s.resources.publisher, { action: {} }),
      '/resources/publisher must NOT have additional properties: action',
    ],
    [
      'an action that is no hook',
      (s) => (s.resources.publisher.actions.predeploy = [{ run: 'true' }]),
      '/resources/publisher/actions must match pattern "^(pre|success|fail|complete)-[a-z0-9-]+$": predeploy',
    ],
    ['a region fc3 does not know', (s) => (s.vars.region = 'cn-hangzou'), '/resources/publisher/props/region must be equal to one of the allowed values'],
    [
      'an event OSS does not send',
      (s) => s.resources.publisher.props.triggers[1]!.triggerConfig.events.push('oss:ObjectCreated:Put'),
      '/resources/publisher/props/triggers/1/triggerConfig/events/4 must be equal to one of the allowed values',
    ],
    [
      'more retries than FC makes',
      (s) => (s.resources.publisher.props.asyncInvokeConfig.maxAsyncRetryAttempts = 9),
      '/resources/publisher/props/asyncInvokeConfig/maxAsyncRetryAttempts must be <= 8',
    ],
    ['memory off FC steps of 64 MB', (s) => (s.resources.publisher.props.memorySize = 500), '/resources/publisher/props/memorySize must be multiple of 64'],
    [
      'a disk size FC does not offer',
      (s) => (s.resources.publisher.props.diskSize = 1024),
      '/resources/publisher/props/diskSize must be equal to one of the allowed values',
    ],
    ['more vCPUs than FC gives', (s) => (s.resources.publisher.props.cpu = 32), '/resources/publisher/props/cpu must be <= 16'],
    [
      'a log config without its logstore',
      // s.yaml's logConfig is the object, not `auto`.
      (s) => deleteField(s.resources.publisher.props.logConfig as SYamlLogConfig, 'logstore'),
      "/resources/publisher/props/logConfig must have required property 'logstore'",
    ],
    ['no handler', (s) => deleteField(s.resources.publisher.props, 'handler'), "/resources/publisher/props must have required property 'handler'"],
  ])('refuses %s', (_, change, problem) => {
    const sYaml = readSYaml();
    change(sYaml);
    expect(problems(resolved(sYaml))).toContain(problem);
  });

  // FC 3.0: cpu in steps of 0.05 vCPU, and memory from 1 to 4 GB per vCPU (ALIYUN::FC3::Function, Cpu).
  it("sets cpu and memory in FC 3.0's steps and ratio, and room on disk for the largest zip's spool", () => {
    const { props } = readSYaml().resources.publisher;
    expect(Math.abs(props.cpu * 20 - Math.round(props.cpu * 20))).toBeLessThan(1e-9);
    expect(props.memorySize / 1024 / props.cpu).toBeGreaterThanOrEqual(1);
    expect(props.memorySize / 1024 / props.cpu).toBeLessThanOrEqual(4);
    // src/regions/spool.ts keeps the zip on disk with 64 MiB beside it; MAX_ZIP_BYTES is the largest zip.
    expect(props.diskSize * 1024 * 1024).toBeGreaterThanOrEqual(Number(props.environmentVariables.MAX_ZIP_BYTES) + 64 * 1024 * 1024);
  });

  it('takes logConfig: auto, as fc3 does', () => {
    const sYaml = readSYaml();
    sYaml.resources.publisher.props.logConfig = 'auto';
    expect(problems(resolved(sYaml))).toEqual([]);
  });

  it('refuses a reference Serverless Devs would resolve from something this check does not have', () => {
    const sYaml = readSYaml();
    sYaml.resources.publisher.props.description = '${env("DESCRIPTION")}';
    expect(() => resolved(sYaml)).toThrow('s.yaml.resources.publisher.props.description: ${env("DESCRIPTION")} holds a reference');
    sYaml.resources.publisher.props.description = '${vars.nope}';
    expect(() => resolved(sYaml)).toThrow("${vars.nope} is not among s.yaml's vars");
  });
});
