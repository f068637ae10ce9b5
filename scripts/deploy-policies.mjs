// Writes the function role's RAM documents from s.yaml, so the bucket, prefixes, region, queue,
// logstore and other regions are written once (in s.yaml) and the role can never grant something else
// than s.yaml deploys:
//   deploy/ram-policy.json          the permission policy to attach to the role
//   deploy/trust-policy.json        who may assume the role: Function Compute
//   deploy/staging-lifecycle.xml    the lifecycle rule of each staging bucket of REGIONS (docs/deploy.md, Other regions)
// `npm run deploy:policies` writes them; `-- --check` only says whether the committed ones are current
// (a test runs it). `--config <s.yaml>` and `--out <dir>` read and write elsewhere.
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * FC 3.0 (2023-03-30) grants CreateLayerVersion on "All Resources" only; 2021-04-06 scopes it to
 * `layers/<name>/versions/*` (shared/reference/alibaba-cloud.md §4, §5, §9).
 */
const CREATE_ON_ALL_RESOURCES = new Set(['2023-03-30']);

/**
 * Layer actions whose API pages (2021-04-06 and 2023-03-30) list "All Resources" only: a statement
 * scoped to `layers/...` does not grant them. ListLayerVersions and GetLayerVersion serve the unchanged
 * check and adoption, DeleteLayerVersion the delete on a codeChecksum mismatch and retention, PutLayerACL
 * the manifest's `public`. ListFunctions (and ListServices before FC 3.0) tell retention which versions
 * functions still use; they read every function of the account, so they are granted on `*` too.
 */
const ALL_RESOURCE_LAYER_ACTIONS = [
  'fc:ListLayerVersions',
  'fc:GetLayerVersion',
  'fc:DeleteLayerVersion',
  'fc:PutLayerACL',
  'fc:ListFunctions',
  'fc:ListServices',
];

/**
 * The function's own rules for REGIONS (src/config.ts `parseRegions`, src/regions/targets.ts for the
 * home region), bundled from the sources: s.yaml's value is refused here with the message the function
 * would give at its first invocation.
 */
async function loadRegionRules() {
  const { build } = await import('esbuild');
  const { outputFiles } = await build({
    stdin: {
      contents: "export { parseRegions, parseRolloutFunctions } from './src/config'; export { selectRegionTargets } from './src/regions/targets';",
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    logLevel: 'warning',
  });
  // Evaluated in memory as CommonJS: the check in s.yaml's pre-deploy writes nothing but deploy/.
  const module = { exports: {} };
  new Function('module', 'exports', 'require', outputFiles[0].text)(module, module.exports, createRequire(import.meta.url));
  return module.exports;
}

const { parseRegions, parseRolloutFunctions, selectRegionTargets } = await loadRegionRules();

const ACCOUNT_ID = /\$\{\s*config\(\s*["']AccountID["']\s*\)\s*\}/g;

/**
 * s.yaml's `${vars.x}` and `${config("AccountID")}` resolved as Serverless Devs resolves them, the account
 * being `accountId`; any other reference is refused, since what it stands for is not known here.
 */
export function resolveReferences(value, context, path) {
  if (typeof value === 'string') {
    const resolved = value.replace(/\$\{\s*vars\.(\w+)\s*\}/g, (_, name) => {
      if (!(name in context.vars)) throw new Error(`${path}: \${vars.${name}} is not among s.yaml's vars`);
      return String(context.vars[name]);
    });
    if (/\$\{/.test(resolved.replace(ACCOUNT_ID, ''))) throw new Error(`${path}: ${value} holds a reference this script cannot resolve`);
    return resolved.replace(ACCOUNT_ID, context.accountId);
  }
  if (Array.isArray(value)) return value.map((item, index) => resolveReferences(item, context, `${path}[${index}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveReferences(item, context, `${path}.${key}`)]));
  }
  return value;
}

function required(value, path) {
  if (typeof value !== 'string' || value === '') throw new Error(`${path} must be set in s.yaml`);
  return value;
}

/** The one value every trigger agrees on, e.g. their bucket: two would need a policy s.yaml does not describe. */
function agreed(triggers, pick, what) {
  const values = new Set(triggers.map(pick));
  if (values.size !== 1) throw new Error(`the OSS triggers must share one ${what}; s.yaml has ${[...values].join(', ')}`);
  return [...values][0];
}

/** What the role's policy is made of, read from the fc3 resource of a parsed s.yaml. */
export function deployValues(sYaml) {
  const fc3 = Object.entries(sYaml?.resources ?? {}).filter(([, resource]) => resource?.component === 'fc3');
  if (fc3.length !== 1) throw new Error(`s.yaml must hold exactly one fc3 resource, not ${fc3.length}`);
  const [name, resource] = fc3[0];
  // RAM documents name no account: `*` stands where s.yaml has `${config("AccountID")}`.
  const props = resolveReferences(resource.props ?? {}, { vars: sYaml.vars ?? {}, accountId: '*' }, `resources.${name}.props`);
  const at = (field) => `resources.${name}.props.${field}`;

  const triggers = (props.triggers ?? []).filter((trigger) => trigger.triggerType === 'oss');
  if (triggers.length === 0) throw new Error(`${at('triggers')} has no OSS trigger`);
  const bucket = agreed(triggers, (trigger) => required(trigger.sourceArn, at('triggers[].sourceArn')).split(':').at(-1), 'bucket');
  const prefix = agreed(triggers, (trigger) => trigger.triggerConfig?.filter?.key?.prefix ?? '', 'key prefix');
  const env = props.environmentVariables ?? {};
  if (typeof props.logConfig === 'string') {
    throw new Error(
      `${at('logConfig')}: ${props.logConfig} lets fc3 choose the log project; name the project and logstore, so the role may write to those alone`,
    );
  }

  const region = required(props.region, at('region'));
  const home = required(bucket, at('triggers[].sourceArn'));

  return {
    region,
    bucket: home,
    regions: otherRegions(env.REGIONS, region, home, at('environmentVariables.REGIONS')),
    rolloutFunctions: rolloutGlobs(env.ROLLOUT_FUNCTIONS, at('environmentVariables.ROLLOUT_FUNCTIONS')),
    prefix,
    auditPrefix: required(env.AUDIT_PREFIX, at('environmentVariables.AUDIT_PREFIX')),
    // src/config.ts's default when s.yaml sets none (docs/index-and-notices.md).
    indexPrefix: env.INDEX_PREFIX || '_index/',
    fcApiVersion: required(env.FC_API_VERSION, at('environmentVariables.FC_API_VERSION')),
    failureDestination: required(
      props.asyncInvokeConfig?.destinationConfig?.onFailure?.destination,
      at('asyncInvokeConfig.destinationConfig.onFailure.destination'),
    ),
    logProject: required(props.logConfig?.project, at('logConfig.project')),
    logStore: required(props.logConfig?.logstore, at('logConfig.logstore')),
    // A staged copy must outlive every delivery of its event: a retry reuses it instead of copying again.
    eventMaxAgeSeconds: props.asyncInvokeConfig?.maxAsyncEventAgeInSeconds ?? DEFAULT_EVENT_MAX_AGE_SECONDS,
  };
}

/** fc3's default maxAsyncEventAgeInSeconds, a day, when s.yaml sets none. */
const DEFAULT_EVENT_MAX_AGE_SECONDS = 86_400;

/** REGIONS of s.yaml as `[{ region, bucket }]`, held to the function's rules; unset or empty is home only. */
function otherRegions(raw, homeRegion, homeBucket, path) {
  try {
    const targets = selectRegionTargets(parseRegions(raw), homeRegion, undefined, 's.yaml');
    const named = targets.find((target) => target.bucket === homeBucket);
    // Bucket names are global and a bucket lives in one region: the home bucket cannot be a staging one.
    if (named !== undefined) throw new Error(`REGIONS entry ${JSON.stringify(named.source)} names the home bucket ${homeBucket}, which is in ${homeRegion}`);
    return targets.map(({ region, bucket }) => ({ region, bucket }));
  } catch (error) {
    throw new Error(`${path}: ${error.message}`);
  }
}

/**
 * The function-name globs of ROLLOUT_FUNCTIONS, held to the function's rules (src/config.ts). RAM
 * documents `*` alone as a wildcard: a `?` is granted as `*`, a little wider, never narrower. Key
 * prefixes are the function's to check; RAM cannot tell which zip a call is for.
 */
function rolloutGlobs(raw, path) {
  try {
    const globs = parseRolloutFunctions(raw).map(({ source }) =>
      source
        .slice(source.indexOf('=') + 1)
        .trim()
        .replace(/\?/g, '*'),
    );
    return [...new Set(globs)];
  } catch (error) {
    throw new Error(`${path}: ${error.message}`);
  }
}

/**
 * What a rollout, `promote` and `rollback` call on a function (docs/rollout.md), each scoped on its
 * FC 3.0 API page to `acs:fc:<region>:<account>:functions/<name>`; ListFunctions is already granted on `*`.
 */
const ROLLOUT_ACTIONS = [
  'fc:GetFunction',
  'fc:UpdateFunction',
  'fc:PublishFunctionVersion',
  'fc:ListFunctionVersions',
  'fc:GetAlias',
  'fc:CreateAlias',
  'fc:UpdateAlias',
  'fc:ListAliases',
];

/** The permission policy. RAM's grammar has Version and Statement, each Effect, Action, Resource: no Sid. */
export function ramPolicy(values) {
  const object = (pattern) => `acs:oss:*:*:${values.bucket}/${pattern}`;
  const createOnAll = CREATE_ON_ALL_RESOURCES.has(values.fcApiVersion);
  const statements = [
    // HEAD and GET of zips, manifests and results; the ledger's markers and records under the audit prefix;
    // the latest-version index, read before each write of it.
    { Effect: 'Allow', Action: ['oss:GetObject'], Resource: [object(`${values.prefix}*`), object(`${values.auditPrefix}*`), object(`${values.indexPrefix}*`)] },
    // One listing of a folder when a pair waits, to name a near miss beside the missing key (a `waiting`
    // result). A bucket-level action: its resource is the bucket.
    { Effect: 'Allow', Action: ['oss:ListObjects'], Resource: [`acs:oss:*:*:${values.bucket}`] },
    // Results beside the zips, the append-only audit prefix and the index: never a zip or a manifest (docs/contract.md §3).
    {
      Effect: 'Allow',
      Action: ['oss:PutObject'],
      Resource: [object(`${values.prefix}*.result.json`), object(`${values.auditPrefix}*`), object(`${values.indexPrefix}*`)],
    },
    // The other regions' staging buckets (REGIONS): the zip is staged under `<auditPrefix>staged/` only.
    // HEAD is GetObject, and FC may read the staged zip with the caller's identity; a single PUT and each
    // step of a multipart upload (Initiate, UploadPart, Complete) are PutObject; Abort is its own action.
    // The copy never lists parts, and nothing here deletes: the bucket's lifecycle rule expires stages.
    ...(values.regions.length === 0
      ? []
      : [{ Effect: 'Allow', Action: STAGING_ACTIONS, Resource: values.regions.map(({ bucket }) => `acs:oss:*:*:${bucket}/${values.auditPrefix}staged/*`) }]),
    ...(createOnAll
      ? []
      : [
          {
            Effect: 'Allow',
            Action: ['fc:CreateLayerVersion'],
            Resource: [values.region, ...values.regions.map(({ region }) => region)].map((region) => `acs:fc:${region}:*:layers/*/versions/*`),
          },
        ]),
    // RAM grants these on "All Resources" alone: `*` is the narrowest resource that works, and it already
    // covers every region of REGIONS (the unchanged check, adoption, the codeChecksum delete, `public`).
    { Effect: 'Allow', Action: [...(createOnAll ? ['fc:CreateLayerVersion'] : []), ...ALL_RESOURCE_LAYER_ACTIONS], Resource: ['*'] },
    // The functions ROLLOUT_FUNCTIONS hands over, in every region the layer is published to, and no others.
    ...(values.rolloutFunctions.length === 0
      ? []
      : [
          {
            Effect: 'Allow',
            Action: ROLLOUT_ACTIONS,
            Resource: [values.region, ...values.regions.map(({ region }) => region)].flatMap((region) =>
              values.rolloutFunctions.map((glob) => `acs:fc:${region}:*:functions/${glob}`),
            ),
          },
        ]),
    // Function Compute sends the events that outlast their retries to the on-failure queue as the function's role.
    { Effect: 'Allow', Action: ['mns:SendMessage'], Resource: [values.failureDestination] },
    // The function's log lines reach the logstore of logConfig through its role.
    { Effect: 'Allow', Action: ['log:PostLogStoreLogs'], Resource: [`acs:log:${values.region}:*:project/${values.logProject}/logstore/${values.logStore}`] },
  ];
  return { Version: '1', Statement: statements };
}

const STAGING_ACTIONS = ['oss:GetObject', 'oss:PutObject', 'oss:AbortMultipartUpload'];

/**
 * The lifecycle rule for each staging bucket (`ossutil api put-bucket-lifecycle`, docs/deploy.md "Other regions"):
 * FC keeps its own copy of a layer's code, so a stage is needed only until its event's last delivery;
 * the parts of a copy that died mid-way are dropped after a day.
 */
export function stagingLifecycle(values) {
  const days = Math.ceil(values.eventMaxAgeSeconds / 86_400) + 1;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<LifecycleConfiguration>',
    '  <Rule>',
    '    <ID>oss-layer-publisher-staged</ID>',
    `    <Prefix>${values.auditPrefix}staged/</Prefix>`,
    '    <Status>Enabled</Status>',
    `    <Expiration><Days>${days}</Days></Expiration>`,
    '    <AbortMultipartUpload><Days>1</Days></AbortMultipartUpload>',
    '  </Rule>',
    '</LifecycleConfiguration>',
    '',
  ].join('\n');
}

/** The trust policy: only Function Compute may assume the role, to hand its credentials to the function. */
export function trustPolicy() {
  return { Version: '1', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: ['fc.aliyuncs.com'] } }] };
}

/** The two files, by name, as they are committed. */
export function policyFiles(sYamlText) {
  const values = deployValues(parse(sYamlText));
  const json = (document) => `${JSON.stringify(document, null, 2)}\n`;
  return {
    'ram-policy.json': json(ramPolicy(values)),
    'trust-policy.json': json(trustPolicy()),
    'staging-lifecycle.xml': stagingLifecycle(values),
  };
}

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : process.argv[index + 1];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const config = option('--config', join(root, 's.yaml'));
  const out = option('--out', join(root, 'deploy'));
  const files = await readFile(config, 'utf8')
    .then(policyFiles)
    .catch((error) => {
      // A wrong s.yaml is the user's to fix: its message, which names the field, is the whole answer.
      console.error(`${config}: ${error.message}`);
      process.exit(2);
    });
  if (process.argv.includes('--check')) {
    const read = (path) => readFile(path, 'utf8').catch(() => undefined);
    const stale = [];
    for (const [name, text] of Object.entries(files)) if ((await read(join(out, name))) !== text) stale.push(join(out, name));
    if (stale.length > 0) {
      console.error(
        `${stale.join(', ')}: not what ${config} describes; run \`npm run deploy:policies\`, commit the result ` +
          "and give the function's role the new policy (docs/deploy.md, step 7)",
      );
      process.exit(1);
    }
    console.log(`${Object.keys(files).join(', ')}: current with ${config}`);
  } else {
    for (const [name, text] of Object.entries(files)) await writeFile(join(out, name), text);
    console.log(
      `${Object.keys(files)
        .map((name) => join(out, name))
        .join(', ')}: written from ${config}`,
    );
  }
}
