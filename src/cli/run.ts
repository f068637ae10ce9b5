import type { ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors';
import { failedRegions } from '../publish/result';
import { checkBucketName, didYouMean, parseFlags } from '../console/args';
import { auditWithPackageCommand, diffCommand } from './contents';
import { type PublisherRegions, checkLayer, describeCheck, manifestPathFor } from './check';
import { parseRegions } from '../config';
import { LOCAL_REGION } from '../console/local-account';
import { parseRegionsFlag } from '../console/regions-flag';
import {
  CliError,
  type CliIo,
  EXIT_DENIED,
  EXIT_FAILED,
  EXIT_NO_SUCH_BUCKET,
  EXIT_OK,
  EXIT_TIMEOUT,
  EXIT_UNREACHABLE,
  EXIT_USAGE,
  exitCodesHelp,
  tableOptions,
} from '../console/io';
import { ossClient } from './oss';
import { publishLayer } from './publish';
import { printLatest, readLatest } from './latest';
import { reportCommand } from './report';
import { consumersCommand, promoteCommand, rollbackCommand } from './rollout';
import { anyResultFailed, listResults, regionsTable, resultsTable } from './results';
import { verifyCommand } from './verify';
import { VERSION } from './version';

const USAGE = `Usage: layer-publisher <command> [options]

Commands:
  check <zip> [--manifest <file>]            check a layer zip and its manifest as the function will
  publish <zip> --bucket <b> [--prefix <p>]  upload a layer and wait for its result
  results --bucket <b> [--prefix <p>]        list results and audit records
  audit --bucket <b> [--layer <n>]           the history of each layer: who uploaded what, when
  verify --bucket <b> [--fc-endpoint <url>]  compare the audit trail with FC's versions (exit 1 on drift)
  report --html <file> --bucket <b>          one HTML page: each layer's timeline, with drift
  diff <layer> <v1> <v2> --bucket <b>        what changed inside a layer: packages, file count, size
  audit --package <p[@range]> --bucket <b>   every layer version holding a package, in every region
  latest <layer> --bucket <b> [--region r]   print the ARN of the layer's newest version (from the index)
  consumers [--layer <n>] [--fail-behind]    which functions, versions and aliases use which version
  promote <layer> --bucket <b> [--dry-run]   move the last rollout's canary aliases fully
  rollback <layer> --bucket <b> [--dry-run]  put back what the last rollout of <layer> changed

Run layer-publisher <command> --help for a command's options. Every command takes --json.
Tables fit the terminal (cells cut with …); --wide prints them whole. layer-publisher --version
prints the version. Exit codes: each command's --help lists its own; README ("Exit codes").
Credentials: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET (ALIBABA_CLOUD_SECURITY_TOKEN).
`;

const OSS_OPTIONS = {
  bucket: { type: 'string' },
  prefix: { type: 'string', default: '' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
} as const;
const COMMON_OPTIONS = {
  json: { type: 'boolean', default: false },
  wide: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The codes of a command that reads or writes the bucket, beyond its own. */
const OSS_EXIT_CODES = [EXIT_UNREACHABLE, EXIT_DENIED, EXIT_NO_SUCH_BUCKET] as const;

interface Command {
  /** Ends with the line exitCodesHelp writes, which test/cli/exit-codes.test.ts compares with what the command does. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  positionals: number;
  run(values: Record<string, string | boolean | undefined>, positionals: string[], io: CliIo): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  check: {
    help: `Usage: layer-publisher check <zip> [--manifest <file>] [--regions <ids>] [--json]

Checks what the function will check: the manifest's rules, the zip's size limit (MAX_ZIP_BYTES),
that it is a zip, its layout against the runtimes; prints its CRC-64. Told the publisher's regions,
it also refuses a manifest whose "regions" names one the publisher does not publish to.
  --manifest <file>  the manifest (default: <zip without .zip>.layer.json beside the zip)
  --regions <ids>    the publisher's other regions, e.g. cn-shanghai,cn-beijing (default: REGIONS)
  --region <id>      the publisher's home region (default: ALIBABA_CLOUD_REGION, FC_REGION, else cn-hangzhou)
${exitCodesHelp([EXIT_OK, EXIT_FAILED, EXIT_USAGE], { [EXIT_OK]: 'the function would accept the layer', [EXIT_FAILED]: 'it would refuse it' })}`,
    options: { manifest: { type: 'string' }, regions: { type: 'string' }, region: { type: 'string' } },
    positionals: 1,
    async run(values, [zip = ''], io) {
      const report = await checkLayer(zip, stringValue(values.manifest) ?? manifestPathFor(zip), publisherRegions(values, io.env));
      io.out(`${values.json ? JSON.stringify(report) : describeCheck(report)}\n`);
      return report.ok ? EXIT_OK : EXIT_FAILED;
    },
  },
  publish: {
    help: `Usage: layer-publisher publish <zip> --bucket <b> [--prefix <p>] [--manifest <file>] [--endpoint <url>] [--json]

Checks the layer, uploads its manifest and zip to <prefix><name>.layer.json and <prefix><name>.zip
(in parts, with a progress bar, from 16 MiB), verifies the upload's CRC-64 against OSS's, then waits
for <prefix><name>.result.json and prints it, with a table of its regions when the publisher
publishes to several.
  --bucket <b>       the bucket the publisher watches (required)
  --prefix <p>       key prefix, e.g. layers/ (default: none)
  --manifest <file>  the manifest (default: <zip without .zip>.layer.json beside the zip)
  --endpoint <url>   OSS endpoint, e.g. http://127.0.0.1:9000 for npm start (default: from --region)
  --region <id>      e.g. cn-hangzhou (default: ALIBABA_CLOUD_REGION or FC_REGION)
  --wait <seconds>   how long to wait for the result (default 300)
${exitCodesHelp([EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, ...OSS_EXIT_CODES], {
  [EXIT_OK]: 'published or unchanged (in every region)',
  [EXIT_FAILED]: 'refused or failed (in any region)',
})}`,
    options: { ...OSS_OPTIONS, manifest: { type: 'string' }, wait: { type: 'string', default: '300' } },
    positionals: 1,
    async run(values, [zip = ''], io) {
      const json = values.json === true;
      const outcome = await publishLayer(
        ossClient(ossTarget(values), io.env),
        {
          zipPath: zip,
          manifestPath: stringValue(values.manifest) ?? manifestPathFor(zip),
          prefix: stringValue(values.prefix) ?? '',
          waitSeconds: countOption('--wait', values.wait),
        },
        io,
        json,
      );
      if (outcome.kind === 'refused') {
        io.out(`${json ? JSON.stringify({ status: 'refused', check: outcome.check }) : `${describeCheck(outcome.check)}\nnot uploaded`}\n`);
        return EXIT_FAILED;
      }
      if (outcome.kind === 'timeout') {
        io.out(
          `${json ? JSON.stringify({ status: 'timeout', keys: outcome.keys }) : `no result at ${outcome.keys.result} in time; is the publisher running?`}\n`,
        );
        return EXIT_TIMEOUT;
      }
      const { result } = outcome;
      const { regions } = result;
      const table =
        json || regions === undefined ? '' : `\n${regionsTable([{ label: result.layerName ?? outcome.keys.result, regions }], tableOptions(values, io))}\n`;
      io.out(`${json ? JSON.stringify(result) : JSON.stringify(result, null, 2)}\n${table}`);
      const homeDone = result.status === 'published' || result.status === 'unchanged';
      return homeDone && failedRegions(result).length === 0 ? EXIT_OK : EXIT_FAILED;
    },
  },
  results: {
    help: `Usage: layer-publisher results --bucket <b> [--prefix <p>] [--endpoint <url>] [--json]

Lists the result of every layer under the prefix, and the newest audit records about them:
layer, version, status, size, CRC-64, when and the error (its code and the start of its message);
then the pairs still waiting, for how long and for which key, with a near miss when one was found;
then, for results of a publisher with REGIONS, each region's status, version, ARN and error (the
home region marked).
  --bucket <b>       the bucket (required)
  --prefix <p>       only keys under this prefix
  --endpoint <url>   OSS endpoint (default: from --region)
  --region <id>      e.g. cn-hangzhou
  --audit <n>        how many of the newest audit records to read (default 20)
${exitCodesHelp([EXIT_OK, EXIT_FAILED, EXIT_USAGE, ...OSS_EXIT_CODES], { [EXIT_FAILED]: 'a result or one of its regions failed' })}`,
    options: { ...OSS_OPTIONS, audit: { type: 'string', default: '20' } },
    positionals: 0,
    async run(values, _positionals, io) {
      const rows = await listResults(ossClient(ossTarget(values), io.env), stringValue(values.prefix) ?? '', countOption('--audit', values.audit));
      io.out(`${values.json ? JSON.stringify(rows) : resultsTable(rows, new Date(), tableOptions(values, io))}\n`);
      return anyResultFailed(rows) ? EXIT_FAILED : EXIT_OK;
    },
  },
  audit: auditWithPackageCommand,
  verify: verifyCommand,
  report: reportCommand,
  diff: diffCommand,
  latest: {
    help: `Usage: layer-publisher latest <layer> --bucket <b> [--region <id>] [--endpoint <url>] [--json]

Reads the publisher's latest-version index (<INDEX_PREFIX>layers/<layer>.json, INDEX_PREFIX
default _index/) and prints the ARN of the layer's newest version, alone on its line:
  ARN=$(layer-publisher latest my-layer --bucket team-layers --region cn-hangzhou)
With --json, the whole entry: version, arn, codeChecksum, runtimes, description, license, when
and by whom. Exit 0 when printed, 1 when the index has no version of the layer in that region,
2 on a usage error, 4 to 6 when OSS cannot be read (see README "Exit codes").
  --bucket <b>       the bucket the publisher watches (required)
  --region <id>      the region whose version to print, which is also the bucket's region unless
                     --endpoint names another (default: the only region the index names, or
                     ALIBABA_CLOUD_REGION / FC_REGION)
  --endpoint <url>   OSS endpoint (default: from --region)
`,
    options: { bucket: OSS_OPTIONS.bucket, endpoint: OSS_OPTIONS.endpoint, region: OSS_OPTIONS.region },
    positionals: 1,
    async run(values, [layer = ''], io) {
      const region = stringValue(values.region);
      // The bucket's own region signs the request; the index may name versions in other regions.
      const client = ossClient(ossTarget({ ...values, region: stringValue(values.endpoint) === undefined ? region : undefined }), io.env);
      return printLatest(await readLatest(client, layer, region, io.env), values.json === true, io);
    },
  },
  consumers: consumersCommand,
  promote: promoteCommand,
  rollback: rollbackCommand,
};

/** Runs one command line; returns the exit code. Mistakes and outside failures are printed as one line, never thrown. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(USAGE);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version' || name === '-v') {
    io.out(`layer-publisher ${VERSION}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    const commands = Object.keys(COMMANDS);
    io.err(`layer-publisher: unknown command ${JSON.stringify(name)}${didYouMean(name, commands) || ` (commands: ${commands.join(', ')})`}\n`);
    return EXIT_USAGE;
  }
  try {
    const { values, positionals } = parseFlags({ args: [...rest], options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    if (values.help) {
      io.out(command.help);
      return EXIT_OK;
    }
    if (positionals.length !== command.positionals) {
      throw new CliError(
        command.positionals === 0
          ? `${name} takes no file argument, got ${positionals.join(' ')}`
          : command.positionals === 1
            ? `${name} needs exactly one ${name === 'latest' ? '<layer>' : '<zip>'}, got ${positionals.length}`
            : `${name} needs exactly ${command.positionals} arguments, got ${positionals.length}`,
      );
    }
    return await command.run(values, positionals, io);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`layer-publisher ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (!(error instanceof CliError)) throw error;
    const help = error.exitCode === EXIT_USAGE ? ` (see layer-publisher ${name} --help)` : '';
    io.err(`layer-publisher ${name}: ${error.message}${help}\n`);
    return error.exitCode;
  }
}

/**
 * What the publisher would be configured with, for `check`: --regions (npm start's form) or REGIONS
 * (the function's own `<region>=<bucket>` form, read by its own parser), and the home region.
 * Undefined when neither names regions: the check then cannot know what the publisher refuses.
 */
function publisherRegions(values: Record<string, string | boolean | undefined>, env: Record<string, string | undefined>): PublisherRegions | undefined {
  const home = stringValue(values.region) ?? (env.ALIBABA_CLOUD_REGION || env.FC_REGION || LOCAL_REGION);
  const flag = stringValue(values.regions);
  // selectRegionTargets reads only the region of an entry (and its text, to quote it): --regions names no bucket.
  if (flag !== undefined) return { home, configured: parseRegionsFlag(flag, home).map((region) => ({ region, bucket: '', source: region })) };
  return env.REGIONS ? { home, configured: parseRegions(env.REGIONS) } : undefined;
}

function stringValue(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function ossTarget(values: Record<string, string | boolean | undefined>) {
  const bucket = stringValue(values.bucket);
  if (bucket === undefined) throw new CliError('--bucket is required');
  const region = stringValue(values.region);
  // ali-oss would throw its own "must be conform to the specifications" with a stack.
  if (region !== undefined && !/^[a-z0-9-]+$/.test(region)) throw new CliError(`--region ${JSON.stringify(region)} is not a region id such as cn-hangzhou`);
  const prefix = stringValue(values.prefix) ?? '';
  if (prefix.startsWith('/')) throw new CliError(`--prefix ${JSON.stringify(prefix)} must not start with "/": OSS keys have no leading slash (e.g. layers/)`);
  return { bucket: checkBucketName('--bucket', bucket), endpoint: stringValue(values.endpoint), region };
}

function countOption(flag: string, value: string | boolean | undefined): number {
  const text = stringValue(value) ?? '';
  if (!/^\d+$/.test(text)) throw new CliError(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}
