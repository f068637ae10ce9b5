import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_BUCKET, startLoopbackCloud, testContext, type LoopbackCloud } from '../support/cloud';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import { type V8FlagRecorder, v8FlagRecorder } from '../support/v8-flags';

/**
 * What the first invocation of dist/index.js initialises. Node's own modules say it without a clock:
 * ali-oss, urllib and the FC adapters load node:net, node:http and node:https when they are initialised,
 * and dist/index.js carries them compressed (scripts/build.mjs DEFERRED_SDKS), inflated with node:zlib at
 * the first request, so an event that needs no request must leave all of them unloaded (bench:coldstart
 * prints the times).
 */
let workDir: string;
let cloud: LoopbackCloud;
let flagsDir: string;
let recorder: V8FlagRecorder;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'cold-start-'));
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', workDir]);
  cloud = await startLoopbackCloud();
  flagsDir = await mkdtemp(join(tmpdir(), 'cold-start-flags-'));
  recorder = await v8FlagRecorder(flagsDir);
}, 60_000);

afterAll(async () => {
  await cloud?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
  if (flagsDir) await rm(flagsDir, { recursive: true, force: true });
});

/** node:v8 too: the first zip read sets V8's heap growing factor with it (src/heap.ts). */
const REQUEST_MODULES = ['net', 'http', 'https', 'tls', 'zlib', 'v8'];

interface FirstInvocation {
  /** Which of REQUEST_MODULES were loaded before the bundle was required, and after the invocation. */
  before: string[];
  after: string[];
  outcome: unknown;
}

/** Requires the bundle in a fresh process and hands it one event; answers on fd 3, apart from the log lines. */
function firstInvocation(event: unknown): Promise<FirstInvocation> {
  const script = `
    const network = () => process.moduleLoadList
      .map((name) => name.replace(/^NativeModule /, ''))
      .filter((name) => ${JSON.stringify(REQUEST_MODULES)}.includes(name));
    const before = network();
    const { handler } = require('./index.js');
    handler(Buffer.from(process.env.TEST_EVENT), JSON.parse(process.env.TEST_CONTEXT)).then(
      (summary) => ({ summary }),
      (error) => ({ rejected: String(error && error.message) }),
    ).then((outcome) => require('fs').writeSync(3, JSON.stringify({ before, after: network(), outcome })));`;
  const child = spawn(process.execPath, [...recorder.args, '-e', script], {
    cwd: workDir,
    env: {
      PATH: process.env.PATH,
      OSS_ENDPOINT: cloud.ossEndpoint,
      FC_ENDPOINT: cloud.fcEndpoint,
      TEST_EVENT: JSON.stringify(event),
      TEST_CONTEXT: JSON.stringify(testContext('cold-start')),
    },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let answer = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (answer += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (answer ? resolve(JSON.parse(answer) as FirstInvocation) : reject(new Error(`exited ${code}: ${stderr}`))));
  });
}

const deletion = {
  events: [
    {
      eventName: 'ObjectRemoved:DeleteObject',
      eventTime: '2026-12-07T00:00:00.000Z',
      region: 'cn-hangzhou',
      oss: { bucket: { name: TEST_BUCKET }, object: { key: 'layers/gone.zip', eTag: '"0"', size: 1 } },
    },
  ],
};

describe('the first invocation of dist/index.js initialises what its event needs', () => {
  it('an ignored record loads no network module and leaves the SDKs compressed', async () => {
    const run = await firstInvocation(deletion);

    expect(run.outcome).toEqual({ summary: [{ key: 'layers/gone.zip', status: 'ignored', reason: expect.any(String) }] });
    expect(run.before).toEqual([]);
    expect(run.after).toEqual([]);
  });

  it('a malformed event is refused without loading any of them', async () => {
    const run = await firstInvocation({ events: 'none' });

    expect(run.outcome).toEqual({ rejected: expect.stringContaining('events') });
    expect(run.after).toEqual([]);
  });

  it('a publish loads them with the SDKs and clients its requests need', async () => {
    await cloud.oss.putObject(TEST_BUCKET, 'layers/cold.zip', nodejsLayerZip('cold'));
    await cloud.oss.putObject(TEST_BUCKET, 'layers/cold.layer.json', manifestBytes({ ...NODE_MANIFEST, layerName: 'cold' }));

    const run = await firstInvocation({ events: [await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/cold.zip')] });

    expect(run.outcome).toEqual({ summary: [{ key: 'layers/cold.zip', status: 'published', layerName: 'cold', version: 1 }] });
    expect(run.after).toEqual(expect.arrayContaining(['net', 'http', 'zlib']));
  });

  it('a publish reads the zip in a heap that may grow fourfold (src/heap.ts); an ignored record sets no flag', async () => {
    await cloud.oss.putObject(TEST_BUCKET, 'layers/heap.zip', nodejsLayerZip('heap'));
    await cloud.oss.putObject(TEST_BUCKET, 'layers/heap.layer.json', manifestBytes({ ...NODE_MANIFEST, layerName: 'heap' }));
    await recorder.take();

    await firstInvocation(deletion);
    expect(await recorder.take()).toEqual([]);

    const run = await firstInvocation({ events: [await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/heap.zip')] });
    expect(run.outcome).toMatchObject({ summary: [{ status: 'published', layerName: 'heap' }] });
    expect(await recorder.take()).toEqual(['--heap-growing-percent=300']);
  });
});

describe('what dist/index.js carries as code', () => {
  it('the SDKs only inside their compressed bundle, so requiring it parses none of them', async () => {
    const meta = JSON.parse(await readFile(join(workDir, 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const inputsOf = (suffix: string) => Object.keys(Object.entries(meta.outputs).find(([path]) => path.endsWith(suffix))?.[1].inputs ?? {});
    const asCode = inputsOf('index.js');
    const compressed = inputsOf('index.js (deferred SDKs, before compression)');

    expect(asCode.filter((path) => path.startsWith('node_modules/') && !path.startsWith('node_modules/zod/'))).toEqual([]);
    for (const name of ['ali-oss', 'urllib', '@alicloud/fc2', '@alicloud/openapi-util']) {
      expect(compressed.some((path) => path.startsWith(`node_modules/${name}/`))).toBe(true);
    }
  });
});

describe('what the function bundle leaves to the CLI', () => {
  it('has no semver of its own: the CLI bundles it for --package ranges (src/cli/contents.ts)', async () => {
    const meta = JSON.parse(await readFile(join(workDir, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const inputs = Object.keys(meta.inputs);
    expect(inputs.some((path) => path.startsWith('src/cli/') || path.startsWith('src/report/'))).toBe(false);
    // urllib's own old semver (under win-release) may be there; the top-level one the CLI uses must not.
    expect(inputs.filter((path) => path.startsWith('node_modules/semver/'))).toEqual([]);
  });
});
