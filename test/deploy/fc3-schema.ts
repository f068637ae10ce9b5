/**
 * What `s deploy` accepts in s.yaml, as a JSON Schema (draft-07) closed at every level: a key that
 * Serverless Devs or the fc3 component does not know is an error, not silently dropped as fc3 drops it.
 *
 * The fc3 props are checked against fc3's own schema, devsapp/fc3 src/schema.json (commit
 * 0c2a2207894ce30d5e44396773efb8e00476d5ae, generated from its `IProps` interface): every name, type,
 * enum and bound below is the one it states. Only the props and sub-objects this project uses are
 * written out (fc3's schema is not copied in); a prop fc3 knows but this file lacks fails too, and is
 * added here, from that file, when s.yaml starts to use it. fc3's own schema is not strict by itself:
 * it has no `additionalProperties: false`, and its trigger `triggerConfig` is an `anyOf` whose last
 * branches accept any object, so a misspelt key passes it (shared/reference/alibaba-cloud.md §8.1).
 *
 * The document around the props (edition, vars, resources, actions) is Serverless Devs' edition 3.0.0
 * spec (Serverless-Devs/Serverless-Devs docs/zh/yaml.md).
 */

// fc3 IRegion.
const REGIONS = [
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-5',
  'ap-southeast-7',
  'cn-beijing',
  'cn-chengdu',
  'cn-hangzhou',
  'cn-hongkong',
  'cn-huhehaote',
  'cn-qingdao',
  'cn-shanghai',
  'cn-shenzhen',
  'cn-zhangjiakou',
  'eu-central-1',
  'eu-west-1',
  'us-east-1',
  'us-west-1',
];

// fc3 IRuntime.
const RUNTIMES = [
  'custom',
  'custom-container',
  'custom.debian10',
  'dotnetcore2.1',
  'dotnetcore3.1',
  'go1',
  'java11',
  'java8',
  'nodejs10',
  'nodejs12',
  'nodejs14',
  'nodejs16',
  'nodejs18',
  'nodejs20',
  'php7.2',
  'python2.7',
  'python3',
  'python3.10',
  'python3.9',
];

// fc3 ITriggerType.
const TRIGGER_TYPES = ['cdn_events', 'eventbridge', 'http', 'log', 'mns_topic', 'oss', 'tablestore', 'timer'];

// fc3 IOssTriggerConfig.events items.
const OSS_EVENTS = [
  'oss:ObjectCreated:*',
  'oss:ObjectCreated:AppendObject',
  'oss:ObjectCreated:CompleteMultipartUpload',
  'oss:ObjectCreated:CopyObject',
  'oss:ObjectCreated:InitiateMultipartUpload',
  'oss:ObjectCreated:PostObject',
  'oss:ObjectCreated:PutObject',
  'oss:ObjectCreated:PutSymlink',
  'oss:ObjectCreated:UploadPart',
  'oss:ObjectCreated:UploadPartCopy',
  'oss:ObjectModified:UpdateObjectMeta',
  'oss:ObjectRemoved:AbortMultipartUpload',
  'oss:ObjectRemoved:DeleteObject',
  'oss:ObjectRemoved:DeleteObjects',
];

const string = { type: 'string' } as const;

/** An object with exactly these keys, `required` among them. */
function closed(properties: Record<string, object>, required: string[] = []) {
  return { type: 'object', properties, required, additionalProperties: false } as const;
}

// fc3 IDestination.
const destination = closed({ destination: string });

// fc3 ILogConfig, or the string `auto`.
const logConfig = {
  anyOf: [
    closed(
      {
        enableInstanceMetrics: { type: 'boolean' },
        enableRequestMetrics: { type: 'boolean' },
        logBeginRule: { type: 'string', enum: ['DefaultRegex', 'None'] },
        logstore: string,
        project: string,
      },
      ['logstore', 'project'],
    ),
    { type: 'string', const: 'auto' },
  ],
};

// fc3 ITrigger, its triggerConfig being fc3 IOssTriggerConfig: the only kind of trigger s.yaml has.
const ossTrigger = closed(
  {
    description: string,
    invocationRole: string,
    qualifier: string,
    sourceArn: string,
    triggerName: string,
    triggerType: { type: 'string', enum: TRIGGER_TYPES },
    triggerConfig: closed(
      {
        events: { type: 'array', items: { type: 'string', enum: OSS_EVENTS } },
        filter: closed({ key: closed({ prefix: string, suffix: string }, ['prefix', 'suffix']) }, ['key']),
      },
      ['events', 'filter'],
    ),
  },
  ['triggerConfig', 'triggerName', 'triggerType'],
);

// fc3 IProps, with its required list for a runtime that is neither custom nor custom-container.
const fc3Props = closed(
  {
    asyncInvokeConfig: closed({
      destinationConfig: closed({ onFailure: destination, onSuccess: destination }),
      maxAsyncEventAgeInSeconds: { type: 'number', minimum: 1, maximum: 2592000 },
      maxAsyncRetryAttempts: { type: 'number', minimum: 0, maximum: 8 },
    }),
    code: {
      anyOf: [closed({ ossBucketName: string, ossObjectName: string, src: string }, ['ossBucketName', 'ossObjectName', 'src']), string],
    },
    cpu: { type: 'number', minimum: 0.05, maximum: 16 },
    description: string,
    diskSize: { type: 'number', enum: [10240, 512] },
    environmentVariables: { type: 'object', additionalProperties: string },
    functionName: string,
    handler: string,
    logConfig,
    memorySize: { type: 'integer', multipleOf: 64, minimum: 128, maximum: 32768 },
    region: { type: 'string', enum: REGIONS },
    role: string,
    runtime: { type: 'string', enum: RUNTIMES },
    timeout: { type: 'integer', minimum: 1, maximum: 86400 },
    triggers: { type: 'array', items: ossTrigger },
  },
  ['region', 'functionName', 'runtime', 'code', 'handler'],
);

// A Serverless Devs action that runs a command (`run`, in the folder `path`) around a command of the tool.
const runAction = closed({ run: string, path: string }, ['run']);
const actions = {
  type: 'object',
  propertyNames: { pattern: '^(pre|success|fail|complete)-[a-z0-9-]+$' },
  additionalProperties: { type: 'array', items: runAction, minItems: 1 },
};

/** The whole s.yaml document, its `${...}` references already resolved. */
export const S_YAML_SCHEMA = closed(
  {
    edition: { type: 'string', const: '3.0.0' },
    name: string,
    access: string,
    vars: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
    resources: {
      type: 'object',
      minProperties: 1,
      additionalProperties: closed({ component: { type: 'string', const: 'fc3' }, actions, props: fc3Props }, ['component', 'props']),
    },
  },
  ['edition', 'name', 'resources'],
);
