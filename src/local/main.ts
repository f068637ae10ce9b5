/**
 * `npm start`: the publisher on one machine. A local OSS and Function Compute on 127.0.0.1, backed
 * by a data folder, and the handler bundle publishing whatever lands in the bucket.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkBucketName, parseFlags } from '../console/args';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_PORT_IN_USE, EXIT_USAGE, EXIT_WAITING } from '../console/io';
import { pipeWriter } from '../console/stdio';
import { type WaitingPair, waitingTable } from '../console/waiting';
import { loadConfig } from '../config';
import { ConfigError } from '../errors';
import { failedRegions } from '../publish/result';
import { DEFAULT_BUCKET, DEFAULT_DATA_DIR, DEFAULT_OSS_PORT, LOCAL_CREDENTIALS, LOCAL_REGION } from '../console/local-account';
import { EXAMPLE_ZIP_KEY } from './example';
import { startHelp } from './help';
import { type HandledEvent, handledEvents, isFailure, jsonLine, stackDescriber, stillFailed, stillFailedTable, summaryTable } from './report';
import { type LocalRegionPlan, REGION_PORT_STEP, checkNoRegionVariables, cliRegionAssignments, planRegions } from './regions';
import { parseRegionsFlag } from '../console/regions-flag';
import { DataFolderInUseError } from './data-lock';
import type { InvocationOutcome } from './invoker';
import { dingTalkPreviews, webhookVariables } from './notify';
import { type FailedLayer, type LocalStack, PortInUseError, type StackEvent, startLocalStack } from './stack';

interface StartOptions {
  once: boolean;
  json: boolean;
  wide: boolean;
  ossPort: number;
  fcPort: number;
  dataDir: string;
  bucket: string;
  regions: LocalRegionPlan[];
  notify: string | undefined;
}

function parseOptions(argv: string[]): StartOptions | 'help' {
  const { values } = parseFlags({
    args: argv,
    strict: true,
    options: {
      once: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      wide: { type: 'boolean', default: false },
      port: { type: 'string' },
      'fc-port': { type: 'string' },
      data: { type: 'string', default: DEFAULT_DATA_DIR },
      bucket: { type: 'string', default: DEFAULT_BUCKET },
      regions: { type: 'string' },
      notify: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  checkNoRegionVariables(process.env);
  // The handler bundle reads these on every event: a bad one is a mistake to report now, not per event.
  loadConfig(process.env);
  const ossPort = portOption('--port', values.port) ?? DEFAULT_OSS_PORT;
  const dataDir = resolve(values.data);
  const bucket = checkBucketName('--bucket', values.bucket);
  const regions = planRegions(values.regions === undefined ? [] : parseRegionsFlag(values.regions, LOCAL_REGION), { bucket, dataDir, ossPort });
  const fcPort = portOption('--fc-port', values['fc-port']) ?? (ossPort === 0 ? 0 : ossPort + 1);
  checkPortsApart(ossPort, fcPort, regions);
  return { once: values.once, json: values.json, wide: values.wide, ossPort, fcPort, dataDir, bucket, regions, notify: values.notify };
}

/** Two services on one port would fail as "already in use", blaming another npm start: say what collides instead. */
function checkPortsApart(ossPort: number, fcPort: number, regions: readonly LocalRegionPlan[]): void {
  if (fcPort === 0) return;
  if (fcPort === ossPort) {
    throw new CliError(`--fc-port ${fcPort} is --port too: the local OSS and Function Compute need a port each (leave --fc-port out for --port + 1)`);
  }
  const region = regions.find((plan) => plan.ossPort === fcPort || plan.fcPort === fcPort);
  if (region !== undefined) {
    throw new CliError(
      `--fc-port ${fcPort} is a port of the local ${region.region} (--regions take --port + ${REGION_PORT_STEP}, + ${REGION_PORT_STEP * 2}… and the port after); choose another`,
    );
  }
}

function portOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new CliError(`${flag} must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  return port;
}

const out = pipeWriter(process.stdout);
const err = pipeWriter(process.stderr);

async function main(argv: string[]): Promise<number> {
  let options: StartOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof CliError || error instanceof ConfigError)) throw error;
    err(`npm start: ${error.message} (see npm start -- --help)\n`);
    return EXIT_USAGE;
  }
  if (options === 'help') {
    out(startHelp(resolve(__dirname, '..')));
    return EXIT_OK;
  }
  const unusable = await unusableFolder(options.dataDir);
  if (unusable !== undefined) {
    err(`npm start: --data ${options.dataDir} cannot be the data folder: ${unusable}\n`);
    return EXIT_USAGE;
  }
  let notify: Awaited<ReturnType<typeof webhookVariables>> | undefined;
  try {
    notify = options.notify === undefined ? undefined : await webhookVariables(options.notify, options.dataDir, process.env);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    err(`npm start: ${error.message} (see npm start -- --help)\n`);
    return EXIT_USAGE;
  }
  const print = (line: string): void => out(`${line}\n`);
  const describe = stackDescriber();
  const handled: HandledEvent[] = [];
  const onEvent = (event: StackEvent): void => {
    // An outcome to be delivered again is not the event's last word: its redelivery's is.
    if (event.kind === 'outcome' && event.redeliveryInMs === undefined) handled.push(...handledEvents(event.record, event.outcome, event.ms));
    const line = options.json ? jsonLine(event) : describe(event);
    if (line !== undefined) print(line);
    const outcome = event.kind === 'outcome' ? event.outcome : undefined;
    if (notify !== undefined && !options.json && outcome?.kind === 'done') previews = previews.then(() => printPreviews(outcome));
  };
  let previews = Promise.resolve();
  // The example layer's event may be handled before startLocalStack returns the stack.
  let stackStarted: (started: LocalStack) => void = () => undefined;
  const started = new Promise<LocalStack>((resolve) => {
    stackStarted = resolve;
  });
  const printPreviews = async (outcome: Extract<InvocationOutcome, { kind: 'done' }>): Promise<void> => {
    const { oss } = await started;
    for (const preview of await dingTalkPreviews(oss, options.bucket, outcome.summary, loadConfig(process.env).auditPrefix)) print(preview);
  };

  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dataDir: options.dataDir,
      bucket: options.bucket,
      ossPort: options.ossPort,
      fcPort: options.fcPort,
      regions: options.regions,
      ...(notify === undefined ? {} : { handlerEnv: notify.variables }),
      // Beside this file in dist/: the handler bundle the cloud runs, and the host that loads it.
      handlerBundle: resolve(__dirname, 'index.js'),
      hostScript: resolve(__dirname, 'local-host.js'),
      examplesDir: resolve(__dirname, '..', 'examples'),
      onEvent,
    });
  } catch (error) {
    if (error instanceof PortInUseError || error instanceof DataFolderInUseError) {
      err(`npm start: ${error.message}\n`);
      return EXIT_PORT_IN_USE;
    }
    const message = error instanceof Error ? error.message : String(error);
    const inDataFolder = (error as NodeJS.ErrnoException).path?.startsWith(options.dataDir) === true;
    err(`npm start: could not start: ${message}${inDataFolder ? ' (the data folder: choose another with --data)' : ''}\n`);
    return EXIT_FAILED;
  }
  stackStarted(stack);
  if (!options.json) printBanner(print, stack, options);
  if (!options.json && notify !== undefined) print(`Notices go to ${options.notify}, signed with the secret in ${notify.secretFrom}\n`);

  if (options.once) {
    await stack.scan();
    await stack.idle();
    await previews;
    const failed = stillFailed(await stack.failedResults(), handled);
    const waiting = await stack.waitingResults();
    await stack.close();
    printOnceReport(print, { handled, failed, waiting }, options);
    if (handled.some(isFailure) || failed.length > 0) return EXIT_FAILED;
    return waiting.length > 0 ? EXIT_WAITING : EXIT_OK;
  }
  await stack.watch();
  await stack.scan();
  await stack.idle();
  if (!options.json) printNextSteps(print, stack, options);
  await waitForSignal();
  await stack.close();
  return EXIT_OK;
}

/** Why the data folder cannot hold the buckets (made if missing), or undefined when it can. */
async function unusableFolder(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

/**
 * What `--once` did; the layers whose failed result is still in the bucket from an earlier run (they
 * are not handled again until their zip or manifest changes, and they still need fixing); and the
 * pairs still waiting for their other half, with what they wait for.
 */
function printOnceReport(print: (line: string) => void, report: OnceReport, options: StartOptions): void {
  const { handled, failed, waiting } = report;
  if (options.json) {
    for (const { keys, result } of failed) {
      const regionsFailed = failedRegions(result);
      print(
        JSON.stringify({
          source: 'local',
          kind: 'still-failed',
          key: keys.result,
          layerName: result.layerName,
          error: result.error,
          ...(regionsFailed.length > 0 ? { regionsFailed } : {}),
        }),
      );
    }
    for (const pair of waiting)
      print(JSON.stringify({ source: 'local', kind: 'waiting', key: pair.result, ...(pair.waiting ? { waiting: pair.waiting } : {}) }));
    return;
  }
  const table = { width: options.wide ? undefined : terminalWidth() };
  if (handled.length > 0) print(`\n${summaryTable(handled, table)}`);
  else print(failed.length === 0 && waiting.length === 0 ? '\nNothing to publish.' : '\nNothing new to publish.');
  if (failed.length > 0) {
    print(`\n${failed.length} layer(s) still failed from an earlier run: fix them and upload the zip or manifest again\n${stillFailedTable(failed, table)}`);
  }
  if (waiting.length > 0) {
    print(`\n${waiting.length} pair(s) waiting for their other half: upload it (or fix the near miss)\n${waitingTable(waiting, new Date(), table)}`);
  }
}

interface OnceReport {
  handled: readonly HandledEvent[];
  failed: readonly FailedLayer[];
  waiting: readonly WaitingPair[];
}

/** stdout's width when it is a terminal; a pipe or a file takes whole lines. */
function terminalWidth(): number | undefined {
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

function printBanner(print: (line: string) => void, stack: LocalStack, options: StartOptions): void {
  const home = stack.regions.length === 0 ? '' : `, home region ${LOCAL_REGION}`;
  const lines: [string, string][] = [
    ['Local OSS', `${stack.ossUrl}  (bucket ${options.bucket}${home})`],
    ['Local FC', stack.fcUrl],
    ['Bucket folder', stack.bucketFolder],
    ...stack.regions.flatMap((region): [string, string][] => [
      [`${region.region} OSS`, `${region.ossUrl}  (staging bucket ${region.bucket})`],
      [`${region.region} FC`, region.fcUrl],
      [`${region.region} data`, region.dataDir],
    ]),
  ];
  const width = Math.max(16, ...lines.map(([label]) => label.length)) + 1;
  for (const [label, value] of lines) print(`${label.padEnd(width)}${value}`);
  print('');
}

function printNextSteps(print: (line: string) => void, stack: LocalStack, options: StartOptions): void {
  const stem = EXAMPLE_ZIP_KEY.replace(/\.zip$/, '');
  print(`
Watching ${stack.bucketFolder} (Ctrl-C to stop). Next:
  - Copy a layer in: a zip and its manifest side by side, e.g.
      cp my-layer.zip my-layer.layer.json ${stack.bucketFolder}/layers/
    and read the result in ${stack.bucketFolder}/layers/my-layer.result.json
  - The example's result: ${stack.bucketFolder}/${stem}.result.json; layers are in ${resolve(options.dataDir, 'layers.json')}${regionLayers(stack)}
  - Or upload with the CLI:
      ALIBABA_CLOUD_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} ALIBABA_CLOUD_ACCESS_KEY_SECRET=${LOCAL_CREDENTIALS.accessKeySecret} \\
      npx layer-publisher publish my-layer.zip --bucket ${options.bucket} --prefix layers/ --endpoint ${stack.ossUrl}
  - Then the trail: who uploaded each version, and whether FC still holds what was published:
      npx layer-publisher audit --bucket ${options.bucket} --endpoint ${stack.ossUrl}
      npx layer-publisher verify --bucket ${options.bucket} --endpoint ${stack.ossUrl} --fc-endpoint ${stack.fcUrl}${regionResults(stack, options)}
  - The newest version of each layer, as consumers read it (${stack.bucketFolder}/_index/layers.json):
      ARN=$(npx layer-publisher latest <layer> --bucket ${options.bucket} --endpoint ${stack.ossUrl})
`);
}

function regionResults(stack: LocalStack, options: StartOptions): string {
  if (stack.regions.length === 0) return '';
  return (
    `\n  - Each layer's version in every region:\n      npx layer-publisher results --bucket ${options.bucket} --endpoint ${stack.ossUrl}` +
    // Before the command, not exported: a shell holding REGIONS makes the next npm start refuse it.
    `\n  - Functions in every region (consumers, promote, rollback: docs/rollout.md) with the regions named:` +
    `\n      ${cliRegionAssignments(stack.regions)} \\` +
    `\n      npx layer-publisher consumers --fc-endpoint ${stack.fcUrl}`
  );
}

/** Where each other region's local FC keeps its layers, for the next-steps text. */
function regionLayers(stack: LocalStack): string {
  return stack.regions.map((region) => `\n    and ${region.region}'s in ${resolve(region.dataDir, 'layers.json')}`).join('');
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

void main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Only a bug gets here: mistakes and outside failures are reported by main with their exit code.
    err(`npm start: internal error, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT_FAILED;
  },
);
