/**
 * `npm start`: the publisher on one machine. A local OSS and Function Compute on 127.0.0.1, backed
 * by a data folder, and the handler bundle publishing whatever lands in the bucket.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BUCKET, DEFAULT_DATA_DIR, DEFAULT_OSS_PORT, LOCAL_CREDENTIALS } from './account';
import { EXAMPLE_ZIP_KEY } from './example';
import { type HandledEvent, describeStackEvent, handledEvents, isFailure, jsonLine, summaryTable } from './report';
import { type LocalStack, PortInUseError, type StackEvent, startLocalStack } from './stack';

const HELP = `Usage: npm start -- [options]

Runs a local OSS and Function Compute on 127.0.0.1 and publishes every layer zip and manifest
that lands in the bucket, through the same handler bundle (dist/index.js) the cloud runs.

Options:
  --once            handle what is in the bucket, print a summary and exit (1 if anything failed)
  --port <n>        local OSS port (default ${DEFAULT_OSS_PORT}); Function Compute listens on the next one
  --fc-port <n>     local Function Compute port (default: --port + 1)
  --data <dir>      data folder (default ${DEFAULT_DATA_DIR}): <dir>/<bucket>/ holds the objects as files
  --bucket <name>   bucket to serve and watch (default ${DEFAULT_BUCKET})
  --json            print the handler's raw JSON log lines (and the stack's own events as JSON)
  -h, --help        show this help
`;

interface StartOptions {
  once: boolean;
  json: boolean;
  ossPort: number;
  fcPort: number;
  dataDir: string;
  bucket: string;
}

/** A bad flag: reported with the usage, exit code 2. */
class UsageError extends Error {}

function parseOptions(argv: string[]): StartOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      once: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      port: { type: 'string' },
      'fc-port': { type: 'string' },
      data: { type: 'string', default: DEFAULT_DATA_DIR },
      bucket: { type: 'string', default: DEFAULT_BUCKET },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const ossPort = portOption('--port', values.port) ?? DEFAULT_OSS_PORT;
  return {
    once: values.once,
    json: values.json,
    ossPort,
    fcPort: portOption('--fc-port', values['fc-port']) ?? (ossPort === 0 ? 0 : ossPort + 1),
    dataDir: resolve(values.data),
    bucket: values.bucket,
  };
}

function portOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UsageError(`${flag} must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  return port;
}

async function main(argv: string[]): Promise<number> {
  let options: StartOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  const handled: HandledEvent[] = [];
  const onEvent = (event: StackEvent): void => {
    if (event.kind === 'outcome') handled.push(...handledEvents(event.record, event.outcome, event.ms));
    const line = options.json ? jsonLine(event) : describeStackEvent(event);
    if (line !== undefined) print(line);
  };

  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dataDir: options.dataDir,
      bucket: options.bucket,
      ossPort: options.ossPort,
      fcPort: options.fcPort,
      // Beside this file in dist/: the handler bundle the cloud runs, and the host that loads it.
      handlerBundle: resolve(__dirname, 'index.js'),
      hostScript: resolve(__dirname, 'local-host.js'),
      examplesDir: resolve(__dirname, '..', 'examples'),
      onEvent,
    });
  } catch (error) {
    process.stderr.write(`${error instanceof PortInUseError ? error.message : `could not start: ${String(error)}`}\n`);
    return 1;
  }
  if (!options.json) printBanner(print, stack, options);

  if (options.once) {
    await stack.scan();
    await stack.idle();
    await stack.close();
    if (!options.json) print(`\n${handled.length === 0 ? 'Nothing to publish.' : summaryTable(handled)}`);
    return handled.some(isFailure) ? 1 : 0;
  }
  await stack.watch();
  await stack.scan();
  await stack.idle();
  if (!options.json) printNextSteps(print, stack, options);
  await waitForSignal();
  await stack.close();
  return 0;
}

function printBanner(print: (line: string) => void, stack: LocalStack, options: StartOptions): void {
  print(`Local OSS        ${stack.ossUrl}  (bucket ${options.bucket})`);
  print(`Local FC         ${stack.fcUrl}`);
  print(`Bucket folder    ${stack.bucketFolder}`);
  print('');
}

function printNextSteps(print: (line: string) => void, stack: LocalStack, options: StartOptions): void {
  const stem = EXAMPLE_ZIP_KEY.replace(/\.zip$/, '');
  print(`
Watching ${stack.bucketFolder} (Ctrl-C to stop). Next:
  - Copy a layer in: a zip and its manifest side by side, e.g.
      cp my-layer.zip my-layer.layer.json ${stack.bucketFolder}/layers/
    and read the result in ${stack.bucketFolder}/layers/my-layer.result.json
  - The example's result: ${stack.bucketFolder}/${stem}.result.json; layers are in ${resolve(options.dataDir, 'layers.json')}
  - Or upload with the CLI:
      ALIBABA_CLOUD_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} ALIBABA_CLOUD_ACCESS_KEY_SECRET=${LOCAL_CREDENTIALS.accessKeySecret} \\
      npx layer-publisher publish my-layer.zip --bucket ${options.bucket} --prefix layers/ --endpoint ${stack.ossUrl}
`);
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
