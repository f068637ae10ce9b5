import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackServer, serve } from '../../src/emulator';
import type { PublishResult } from '../../src/publish/result';
import { type BundleExit, type BundleProcess, spawnBundle } from '../support/bundle-process';
import { TEST_BUCKET, createTestCloud, type TestCloud } from '../support/cloud';
import { expectInvariants, readJson, snapshot } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';

/**
 * A real death (docs/contract.md §7): the bundled handler runs in a child process over loopback sockets;
 * FC makes the version, then holds its answer; the child is SIGKILLed while it waits; the event is
 * delivered again to a fresh process, which must adopt that version at once.
 */
let workDir: string;
let cloud: TestCloud;
let servers: LoopbackServer[] = [];
let created!: Promise<void>;
let onCreated: () => void;
let zipGetHeld!: Promise<void>;
let onZipGet: () => void;
/** The next CreateLayerVersion's answer is held; the next GET of this path is held before it is served. */
let holdNextCreate = true;
let holdGetOf: string | undefined;
let release: () => void;
const held = new Promise<void>((resolve) => (release = resolve));

beforeAll(async () => {
  // The real build (scripts/build.mjs), into a temporary folder: dist/ is left alone.
  workDir = await mkdtemp(join(tmpdir(), 'kill-'));
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', workDir]);
  cloud = createTestCloud();
  created = new Promise((resolve) => (onCreated = resolve));
  zipGetHeld = new Promise((resolve) => (onZipGet = resolve));
  const fcHandler = async (request: Request): Promise<Response> => {
    const isCreate = request.method === 'POST' && /\/layers\/[^/]+\/versions$/.test(new URL(request.url).pathname);
    const response = await cloud.fc.handle(request);
    if (isCreate && holdNextCreate) {
      holdNextCreate = false;
      onCreated();
      await held; // the answer never comes while the first process lives
    }
    return response;
  };
  const ossHandler = async (request: Request): Promise<Response> => {
    if (request.method === 'GET' && holdGetOf !== undefined && new URL(request.url).pathname.endsWith(holdGetOf)) {
      holdGetOf = undefined;
      onZipGet();
      await held; // a read that never ends while the first process lives
    }
    return cloud.oss.handle(request);
  };
  servers = await Promise.all([serve(ossHandler), serve(fcHandler)]);
  cloud = { ...cloud, ossEndpoint: servers[0]!.url, fcEndpoint: servers[1]!.url };
}, 60_000);

afterAll(async () => {
  release();
  await Promise.all(servers.map((server) => server.close()));
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function runChild(events: unknown[], requestId: string, timeoutSeconds: number): BundleProcess {
  return spawnBundle({ dir: workDir, cloud, events, requestId, timeoutSeconds });
}

/** Waits until the child gets as far as `reached`, failing if it ends first. */
function until(reached: Promise<void>, child: BundleProcess, what: string): Promise<void> {
  return Promise.race([reached, child.done.then((run) => Promise.reject(new Error(`the first process ended before ${what}: ${run.stdout} ${run.stderr}`)))]);
}

/** SIGKILLs the child and waits for it to end, killed by that signal. */
async function kill(child: BundleProcess): Promise<BundleExit> {
  child.child.kill('SIGKILL');
  const killed = await child.done;
  expect(killed.signal).toBe('SIGKILL');
  return killed;
}

/** The killed run and the fresh one that followed, as deliveries for the invariants. */
function killedThenFresh(killed: BundleExit, fresh: BundleExit, event: { oss: { object: { key: string } } }) {
  return [
    { summary: undefined, error: 'killed', rawLines: [killed.stdout, killed.stderr] },
    { summary: (fresh.answer as { summary: never }).summary, error: undefined, rawLines: [fresh.stdout, fresh.stderr], keys: [event.oss.object.key] },
  ];
}

describe('a process killed while CreateLayerVersion answers', () => {
  it('SIGKILL after FC made the version; a fresh process adopts it: one version, published', async () => {
    const zip = nodejsLayerZip('killed');
    await cloud.oss.putObject(TEST_BUCKET, 'layers/left-pad.zip', zip);
    await cloud.oss.putObject(TEST_BUCKET, 'layers/left-pad.layer.json', manifestBytes(NODE_MANIFEST));
    const event = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/left-pad.zip');
    const before = await snapshot(cloud, ['left-pad']);

    const first = runChild([event], 'doomed', 120);
    await until(created, first, 'creating');
    expect(cloud.fc.versions('left-pad')).toHaveLength(1);
    const killed = await kill(first);
    expect(await readJson(cloud, 'layers/left-pad.result.json')).toBeUndefined();

    const second = await runChild([event], 'fresh', 10).done;

    expect(second.stderr).toBe('');
    expect(second.answer).toEqual({ summary: [{ key: 'layers/left-pad.zip', status: 'published', layerName: 'left-pad', version: 1 }] });
    expect(cloud.fc.versions('left-pad')).toHaveLength(1);
    expect(cloud.fc.requests.entries.filter((request) => request.action === 'CreateLayerVersion')).toHaveLength(1);
    expect(await readJson<PublishResult>(cloud, 'layers/left-pad.result.json')).toMatchObject({ status: 'published', version: 1, requestId: 'fresh' });
    for (const line of second.stdout.split('\n').filter(Boolean)) expect(JSON.parse(line)).toMatchObject({ requestId: 'fresh' });
    await expectInvariants(cloud, before, { layers: ['left-pad'], runs: killedThenFresh(killed, second, event) });
  }, 60_000);

  it('SIGKILL mid-read of the zip (after claiming): a fresh process waits out the dead claim, then publishes once', async () => {
    const zip = nodejsLayerZip('read-kill');
    const manifest = { ...NODE_MANIFEST, layerName: 'read-kill' };
    await cloud.oss.putObject(TEST_BUCKET, 'layers/read-kill.zip', zip);
    await cloud.oss.putObject(TEST_BUCKET, 'layers/read-kill.layer.json', manifestBytes(manifest));
    const event = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/read-kill.layer.json');
    const before = await snapshot(cloud, ['read-kill']);
    holdGetOf = '/layers/read-kill.zip';

    // The dead process had a 6 s function timeout: its claim expires 6 s after it started.
    const first = runChild([event], 'doomed-reader', 6);
    await until(zipGetHeld, first, 'reading');
    const killed = await kill(first);
    expect(cloud.fc.versions('read-kill')).toHaveLength(0);

    const second = await runChild([event], 'patient', 15).done;

    expect(second.stderr).toBe('');
    expect(second.answer).toEqual({ summary: [{ key: 'layers/read-kill.layer.json', status: 'published', layerName: 'read-kill', version: 1 }] });
    expect(cloud.fc.versions('read-kill')).toHaveLength(1);
    await expectInvariants(cloud, before, { layers: ['read-kill'], runs: killedThenFresh(killed, second, event) });
  }, 60_000);
});
