import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { S_YAML_SCHEMA } from './fc3-schema';
import { deleteField, setField } from '../support/malformed';
import { type PoliciesScript, type SYaml, loadPoliciesScript, readSYaml } from './s-yaml';

/** The Serverless Devs application of registry/oss-layer-publisher/, which `s init` would offer. */
const APP = 'registry/oss-layer-publisher';
const PUBLISH_TEXT = readFileSync(`${APP}/publish.yaml`, 'utf8');
const APP_S_YAML_TEXT = readFileSync(`${APP}/src/s.yaml`, 'utf8');
const ACCOUNT_ID = '1234567890123456';

/**
 * What the registry requires of publish.yaml before it takes an application: its `publishSchema`
 * (Serverless-Devs/toolkit, packages/registry/src/actions/constant.ts), which `s registry publish`
 * checks with ajv. The fields it leaves open (Category, Service) are open here too.
 */
const PUBLISH_SCHEMA = {
  type: 'object',
  required: ['Edition', 'Type', 'Name', 'Provider', 'Version', 'Description', 'Category', 'Service', 'Effective', 'Parameters'],
  properties: {
    Edition: { type: 'string', enum: ['3.0.0'] },
    Type: { type: 'string', enum: ['Component', 'Plugin', 'Project'] },
    Name: { type: 'string' },
    Provider: {
      type: 'array',
      items: {
        type: 'string',
        enum: [
          '阿里云',
          '腾讯云',
          '华为云',
          '百度智能云',
          'AWS',
          'Azure',
          'Google Cloud Platform',
          '专有云',
          '其它',
          '火山引擎',
          'Alibaba Cloud',
          'Tencent Cloud',
          'Huawei Cloud',
          'Baidu Cloud',
          'Private Cloud',
          'Others',
        ],
      },
    },
    Version: { type: 'string' },
    Description: { type: 'string' },
    HomePage: { type: 'string' },
    Tags: { type: 'array', items: { type: 'string' } },
    Category: { type: 'string' },
    Service: { type: 'object' },
    Organization: { type: 'string' },
    Effective: { type: 'string', enum: ['Public', 'Private', 'Organization'] },
    Parameters: {
      type: 'object',
      properties: { type: { type: 'string' }, additionalProperties: { type: 'boolean' }, required: { type: 'array' }, properties: { type: 'object' } },
    },
  },
};

const describeErrors = (errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map(
    (error) =>
      `${error.instancePath || '/'} ${error.message}${error.params && 'allowedValues' in error.params ? `: ${(error.params.allowedValues as string[]).join(', ')}` : ''}`,
  );

const validatePublish = new Ajv({ allErrors: true }).compile(PUBLISH_SCHEMA);

interface Parameter {
  default?: string;
  enum?: string[];
}

/** publish.yaml as parsed: the fields these tests read and change (PUBLISH_SCHEMA checks them all). */
interface Publish {
  Edition: string;
  Type: string;
  Name: string;
  Provider: string[];
  Version: string;
  Description: string;
  Category: string;
  Service: Record<string, { Authorities?: unknown }>;
  Effective: string;
  /** A JSON Schema of the placeholders of src/s.yaml, one property each. */
  Parameters: { type: string; additionalProperties: boolean; required: string[]; properties: Record<string, Parameter> };
}

const readPublish = (): Publish => parse(PUBLISH_TEXT);

function publishProblems(publish: unknown): string[] {
  return validatePublish(publish) ? [] : describeErrors(validatePublish.errors);
}

/** The `{{ name }}` placeholders of src/s.yaml, in order, as the registry's template engine reads them. */
function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((match) => match[1]!);
}

/** src/s.yaml with each placeholder replaced by a value, as `s init` writes it. */
function instantiate(text: string, values: Record<string, string>): unknown {
  return parse(
    text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
      if (!(name in values)) throw new Error(`src/s.yaml: no value for {{ ${name} }}`);
      return values[name]!;
    }),
  );
}

const parameters = (): Record<string, Parameter> => readPublish().Parameters.properties;

/** Every parameter at its default; the role, which has none, as the repository's s.yaml names it. */
function defaults(): Record<string, string> {
  const values = Object.fromEntries(Object.entries(parameters()).map(([name, parameter]) => [name, parameter.default ?? '']));
  return { ...values, roleArn: `acs:ram::${ACCOUNT_ID}:role/${readSYaml().vars.roleName}` };
}

let script: PoliciesScript;
beforeAll(async () => {
  script = await loadPoliciesScript();
});

// strict: as test/deploy/schema.test.ts checks the repository's s.yaml.
const validateSYaml = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(S_YAML_SCHEMA);

function resolved(sYaml: { vars?: Record<string, unknown> }): unknown {
  return script.resolveReferences(sYaml, { vars: sYaml.vars ?? {}, accountId: ACCOUNT_ID }, 's.yaml');
}

describe(`${APP}/publish.yaml`, () => {
  it("passes the registry's publish schema", () => {
    expect(publishProblems(readPublish())).toEqual([]);
  });

  it.each<[string, (publish: Publish) => void, string]>([
    ['no Effective', (p) => deleteField(p, 'Effective'), "/ must have required property 'Effective'"],
    ['no Parameters', (p) => deleteField(p, 'Parameters'), "/ must have required property 'Parameters'"],
    ['an Edition before 3.0.0', (p) => (p.Edition = '2.0.0'), '/Edition must be equal to one of the allowed values: 3.0.0'],
    ['a Provider given as a string', (p) => setField(p, 'Provider', '阿里云'), '/Provider must be array'],
    ['a Type the registry does not know', (p) => (p.Type = 'Application'), '/Type must be equal to one of the allowed values: Component, Plugin, Project'],
  ])('is refused with %s, as the registry refuses it', (_, change, problem) => {
    const publish = readPublish();
    change(publish);
    expect(publishProblems(publish)).toContain(problem);
  });

  it('names each service as the registry knows it, with the system policies it needs', () => {
    // The names the registry's own schema lists for Service (left to its server to enforce).
    const known = [
      '函数计算',
      '对象存储',
      '内容分发网络',
      '资源编排',
      '硬盘挂载',
      '专有网络',
      '日志服务',
      '容器镜像服务',
      '事件总线',
      '表格存储',
      'Serverless应用引擎',
      '云数据库RDS MySQL 版',
      '视频点播',
      '智能媒体服务',
      '媒体处理',
      '低代码音视频工厂',
      '音视频通信',
      '其它',
      'FC',
      'OSS',
      'CDN',
      'ROS',
      'NAS',
      'VPC',
      'SLS',
      'CR',
      'EventBridge',
      'Tablestore',
      'SAE',
      'RDS MySQL',
      'VOD',
      'ICE',
      'MTS',
      'IMP',
      'RTC',
      'Other',
    ];
    const services = readPublish().Service;
    expect(Object.keys(services).filter((name) => !known.includes(name))).toEqual([]);
    for (const [name, { Authorities: policies }] of Object.entries(services)) {
      expect(Array.isArray(policies) && policies.length > 0 && policies.every((policy) => /^Aliyun\w+$/.test(String(policy))), name).toBe(true);
    }
  });

  it('declares Parameters as a JSON Schema whose defaults pass it, the role excepted (it has none)', () => {
    const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true });
    // The registry's extensions, which `s init` reads to offer a bucket of the chosen region.
    ajv.addKeyword('x-bucket');
    const validate = ajv.compile(readPublish().Parameters);
    const filled: Record<string, string> = {};
    validate(filled);
    expect(describeErrors(validate.errors)).toEqual(['/roleArn must match pattern "^acs:ram::\\d+:role/[a-zA-Z0-9.@-]+$"']);
    expect(validate({ ...filled, roleArn: defaults().roleArn })).toBe(true);
    expect(validate({ ...filled, roleArn: defaults().roleArn, region: 'cn-hangzou' })).toBe(false);
  });
});

describe(`${APP}/src/s.yaml`, () => {
  it('uses every parameter exactly once and no other placeholder: a value used twice goes through vars', () => {
    const used = placeholders(APP_S_YAML_TEXT);
    expect(used.filter((name, index) => used.indexOf(name) !== index)).toEqual([]);
    expect([...used].sort()).toEqual(Object.keys(parameters()).sort());
  });

  it('with the defaults in place, passes the fc3 schema that s.yaml passes', () => {
    const problems = validateSYaml(resolved(instantiate(APP_S_YAML_TEXT, defaults()) as { vars?: Record<string, unknown> }))
      ? []
      : describeErrors(validateSYaml.errors);
    expect(problems).toEqual([]);
  });

  it("deploys what the repository's s.yaml deploys: the same props, the code being the built function", () => {
    // Two s.yaml documents, compared prop by prop: resolving references keeps the shape.
    const app = resolved(instantiate(APP_S_YAML_TEXT, defaults()) as { vars?: Record<string, unknown> }) as SYaml;
    const repository = resolved(readSYaml()) as SYaml;
    const { code: appCode, ...appProps } = app.resources.publisher.props;
    const { code: _built, ...repositoryProps } = repository.resources.publisher.props;
    expect(appCode).toBe('./code');
    expect(appProps).toEqual(repositoryProps);
    // The role's policy script reads the application as it reads s.yaml: one bucket, one prefix, the same grants.
    expect(script.deployValues(instantiate(APP_S_YAML_TEXT, defaults()))).toEqual(script.deployValues(readSYaml()));
  });

  it('is refused by the same check when a parameter yields what fc3 refuses', () => {
    const app = instantiate(APP_S_YAML_TEXT, { ...defaults(), region: 'cn-hangzou' }) as { vars?: Record<string, unknown> };
    expect(validateSYaml(resolved(app))).toBe(false);
    expect(describeErrors(validateSYaml.errors).map((problem) => problem.split(':')[0])).toContain(
      '/resources/publisher/props/region must be equal to one of the allowed values',
    );
  });

  it('names a placeholder it has no value for', () => {
    expect(() => instantiate('name: {{ nope }}\n', {})).toThrow('src/s.yaml: no value for {{ nope }}');
  });
});
