import { mkdtemp, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run';
import { LOCAL_CREDENTIALS } from '../../src/console/local-account';
import { EXAMPLE_ZIP_KEY } from '../../src/local/example';
import { PortInUseError, startLocalStack } from '../../src/local/stack';
import type { PublishResult } from '../../src/publish/result';
import { ossClient } from '../support/clients';
import { HANDLER_BUNDLE, HOST_SCRIPT, ensureBundles } from './bundles';
import { LOCAL_BUCKET as BUCKET, npmStart, readJson, settledResult, useLocalStacks } from './stack-harness';
import { writeStoredZip } from './stored-zip';

const MiB = 1024 * 1024;
const stacks = useLocalStacks();
const start = stacks.start;

function layerZip(files: Record<string, string>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, Buffer.from(text)])));
}

function manifest(layerName: string): string {
  return JSON.stringify({ layerName, compatibleRuntime: ['nodejs20'] });
}

/** A data folder whose bucket holds, under `<dir>/`, the layer `flat` that FC refuses: node_modules/ at the zip's top. */
async function dataWithFlatLayer(dir: string): Promise<{ dataDir: string; folder: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'local-stack-'));
  const folder = join(dataDir, BUCKET, dir);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'flat.zip'), layerZip({ 'node_modules/x/index.js': 'x' }));
  await writeFile(join(folder, 'flat.layer.json'), manifest('flat'));
  return { dataDir, folder };
}

beforeAll(ensureBundles, 120_000);

describe('npm start --once: the example layer', () => {
  it('publishes the example on first start through the bundle, and a restart finds it handled', async () => {
    const first = await start();
    await first.stack.scan();
    await first.stack.idle();
    const result = await readJson<PublishResult>(join(first.stack.bucketFolder, EXAMPLE_ZIP_KEY.replace(/\.zip$/, '.result.json')));
    expect(result).toMatchObject({ status: 'published', layerName: 'hello-layer', version: 1 });
    expect(first.events.some((e) => e.kind === 'log' && JSON.parse(e.line).step === 'layer.created')).toBe(true);
    // Objects are plain files: the zip in the folder is the bytes FC made the layer from.
    const layers = await readJson<{ layers: { layerName: string; versions: { codeChecksum: string }[] }[] }>(join(first.dataDir, 'layers.json'));
    expect(layers.layers[0]).toMatchObject({ layerName: 'hello-layer', versions: [{ codeChecksum: result.source.crc64 }] });

    const dataDir = first.dataDir;
    await stacks.release(first);
    const second = await start(dataDir);
    await second.stack.scan();
    await second.stack.idle();
    expect(second.events.filter((e) => e.kind === 'invoke')).toEqual([]);
    expect(second.stack.fc.versions('hello-layer').map((v) => v.version)).toEqual([1]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reports a failed layer found at start with its error code', async () => {
    const { dataDir, folder } = await dataWithFlatLayer('bad');
    const { stack, outcomes } = await start(dataDir);
    await stack.scan();
    await stack.idle();
    const result = await readJson<PublishResult>(join(folder, 'flat.result.json'));
    expect(result).toMatchObject({ status: 'failed', error: { code: 'ZipLayoutInvalid' } });
    expect(outcomes).toMatchObject([{ kind: 'done', summary: [{ status: 'failed' }] }]);
  });
});

describe('npm start: watching the bucket folder and the endpoint', () => {
  it('publishes a zip and manifest copied into the folder, not taking the zip while it is still being written', async () => {
    const { stack } = await start();
    await stack.scan();
    await stack.idle();
    await stack.watch();
    const folder = join(stack.bucketFolder, 'team');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'tools.layer.json'), manifest('tools'));
    const zip = layerZip({ 'bin/tool': '#!/bin/sh\necho tool\n'.repeat(2000) });
    // A slow copy: the first half, a pause, then the rest. Taking the half would be ZipInvalid.
    const file = await open(join(folder, 'tools.zip'), 'w');
    await file.write(zip.subarray(0, zip.length >> 1));
    await sleep(50);
    await file.write(zip.subarray(zip.length >> 1));
    await file.close();
    const result = await settledResult(join(folder, 'tools.result.json'));
    expect(result).toMatchObject({ status: 'published', layerName: 'tools', version: 1, source: { size: zip.length } });
    expect(stack.fc.versions('tools')).toHaveLength(1);
  });

  it('publishes what is uploaded through the local endpoint with ali-oss, signatures checked', async () => {
    const { stack } = await start();
    await stack.idle();
    const client = ossClient({ endpoint: stack.ossUrl, bucket: BUCKET, ...LOCAL_CREDENTIALS, stsToken: '' });
    await client.put('up/web.layer.json', Buffer.from(manifest('web')));
    await client.put('up/web.zip', Buffer.from(layerZip({ 'nodejs/node_modules/web/index.js': 'module.exports = 1' })));
    const result = await settledResult(join(stack.bucketFolder, 'up', 'web.result.json'));
    expect(result).toMatchObject({ status: 'published', layerName: 'web', version: 1 });
    // The uploaded bytes are a plain file in the folder.
    expect(await readFile(join(stack.bucketFolder, 'up', 'web.layer.json'), 'utf8')).toBe(manifest('web'));

    const stranger = ossClient({ endpoint: stack.ossUrl, bucket: BUCKET, accessKeyId: 'someone', accessKeySecret: 'else', stsToken: '' });
    await expect(stranger.put('up/other.zip', Buffer.from('x'))).rejects.toMatchObject({ status: 403 });
  });

  it('layer-publisher publish uploads, waits for the result and exits 0; results lists it', async () => {
    const { stack } = await start();
    await stack.idle();
    const dir = await mkdtemp(join(tmpdir(), 'cli-publish-'));
    await writeFile(join(dir, 'cli.zip'), layerZip({ 'python/cli/__init__.py': 'x = 1' }));
    await writeFile(join(dir, 'cli.layer.json'), JSON.stringify({ layerName: 'cli', compatibleRuntime: ['python3.10'] }));
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t), env: {}, interactive: false };
    const code = await runCli(
      ['publish', join(dir, 'cli.zip'), '--bucket', BUCKET, '--prefix', 'cli/', '--endpoint', stack.ossUrl, '--json', '--wait', '120'],
      io,
    );
    expect(code).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ status: 'published', layerName: 'cli', version: 1, source: { key: 'cli/cli.zip' } });

    out.length = 0;
    expect(await runCli(['results', '--bucket', BUCKET, '--prefix', 'cli/', '--endpoint', stack.ossUrl, '--json'], io)).toBe(0);
    const rows = JSON.parse(out.join('')) as { kind: string; layerName: string; status: string }[];
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'result', layerName: 'cli', status: 'published' }));
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'audit', layerName: 'cli', status: 'published' }));
    await rm(dir, { recursive: true, force: true });
  });
});

describe('a 256 MiB zip over real sockets', () => {
  it('publishes it while the handler process keeps its memory flat', async () => {
    const { stack, outcomes } = await start();
    // Warm-up: the example's publish loads every module the big one will use.
    await stack.scan();
    await stack.idle();
    const warmPeak = outcomes.at(-1)!.peakRssBytes;
    const folder = join(stack.bucketFolder, 'big');
    await mkdir(folder, { recursive: true });
    await writeStoredZip(join(folder, 'big.zip'), 'bin/big.bin', 256 * MiB);
    await writeFile(join(folder, 'big.layer.json'), manifest('big'));
    await stack.scan();
    await stack.idle();
    const result = await readJson<PublishResult>(join(folder, 'big.result.json'));
    expect(result).toMatchObject({ status: 'published', layerName: 'big', source: { size: 256 * MiB + 136 } });
    const peak = Math.max(...outcomes.map((o) => o.peakRssBytes));
    expect(peak - warmPeak).toBeLessThan(96 * MiB);
  }, 300_000);
});

describe('npm start: mistakes get one line and their exit code', () => {
  it('a port already taken names the flag that moves that service: --port for OSS, --fc-port for FC', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const options = {
      dataDir: await mkdtemp(join(tmpdir(), 'local-stack-')),
      bucket: BUCKET,
      handlerBundle: HANDLER_BUNDLE,
      hostScript: HOST_SCRIPT,
      onEvent: () => {},
    };
    try {
      await expect(startLocalStack({ ...options, ossPort: 0, fcPort: port })).rejects.toThrow(new PortInUseError('Function Compute', port, '--fc-port'));
      await expect(startLocalStack({ ...options, ossPort: port, fcPort: 0 })).rejects.toThrow(
        /for the local OSS is already in use .*; choose another with --port$/,
      );
      const { code, err } = await npmStart(['--once', '--port', '0', '--fc-port', String(port), '--data', options.dataDir]);
      expect({ code, err }).toEqual({
        code: 7,
        err: `npm start: port ${port} for the local Function Compute is already in use (is another npm start running?); choose another with --fc-port\n`,
      });
    } finally {
      taken.close();
      await rm(options.dataDir, { recursive: true, force: true });
    }
  });

  it('a bad flag (with the one meant), bucket name, variable, data folder, port pair or region: exit 2, one line, no stack', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'local-stack-'));
    const file = join(dataDir, 'a-file');
    await writeFile(file, '');
    const cases: [string[], Record<string, string>, string][] = [
      [['--oncee'], {}, 'npm start: unknown flag --oncee; did you mean --once? (see npm start -- --help)\n'],
      [
        ['--bucket', 'Bad_Name'],
        {},
        'npm start: --bucket "Bad_Name" is not a valid bucket name: 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit (see npm start -- --help)\n',
      ],
      [['--once'], { MAX_ZIP_BYTES: 'abc' }, 'npm start: MAX_ZIP_BYTES must be a positive whole number of bytes, got "abc" (see npm start -- --help)\n'],
      [['--once', '--port', '0', '--data', file], {}, `npm start: --data ${file} cannot be the data folder: EEXIST\n`],
      [
        ['--port', '9100', '--fc-port', '9100'],
        {},
        'npm start: --fc-port 9100 is --port too: the local OSS and Function Compute need a port each (leave --fc-port out for --port + 1) (see npm start -- --help)\n',
      ],
      [
        ['--port', '9100', '--fc-port', '9110', '--regions', 'cn-shanghai'],
        {},
        'npm start: --fc-port 9110 is a port of the local cn-shanghai (--regions take --port + 10, + 20… and the port after); choose another (see npm start -- --help)\n',
      ],
      [
        ['--regions', 'cn-shangai'],
        {},
        'npm start: --regions entry 1 ("cn-shangai") is not a region Function Compute serves; did you mean cn-shanghai? (see npm start -- --help)\n',
      ],
    ];
    for (const [args, env, line] of cases) expect(await npmStart(args, env)).toEqual({ code: 2, out: '', err: line });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('ends quietly when its output pipe is closed, publishing all the same', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'local-stack-'));
    expect(await npmStart(['--once', '--port', '0', '--data', dataDir], {}, true)).toEqual({ code: 0, out: '', err: '' });
    const result = await readJson<PublishResult>(join(dataDir, BUCKET, EXAMPLE_ZIP_KEY.replace(/\.zip$/, '.result.json')));
    expect(result).toMatchObject({ status: 'published', layerName: 'hello-layer' });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('--once --json: each pair still waiting is a JSON line naming its result, exit 8', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'local-stack-'));
    await mkdir(join(dataDir, BUCKET, 'lone'), { recursive: true });
    await writeFile(join(dataDir, BUCKET, 'lone', 'half.layer.json'), manifest('half'));
    const { code, out, err } = await npmStart(['--once', '--json', '--port', '0', '--data', dataDir]);
    expect({ code, err }).toEqual({ code: 8, err: '' });
    const lines = out
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { source?: string; kind?: string; key?: string });
    expect(lines.filter((line) => line.kind === 'waiting')).toEqual([
      expect.objectContaining({ source: 'local', kind: 'waiting', key: 'lone/half.result.json' }),
    ]);
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('--once exits 1 while a layer has a failed result, also on a second run that handles nothing, then 8 while a pair waits; "waiting for the zip" once', async () => {
    const { dataDir, folder } = await dataWithFlatLayer('team');
    await writeFile(join(folder, 'half.layer.json'), manifest('half'));
    const args = ['--once', '--port', '0', '--data', dataDir];

    const first = await npmStart(args);
    expect(first).toMatchObject({ code: 1, err: '' });
    expect(first.out).toMatch(/team\/flat\.zip +flat +- +failed/);
    expect(first.out.match(/waiting for the zip/g)).toHaveLength(1);

    const second = await npmStart(args);
    expect(second).toMatchObject({ code: 1, err: '' });
    expect(second.out).not.toContain('Nothing to publish.');
    expect(second.out).toContain('1 layer(s) still failed from an earlier run');
    expect(second.out).toMatch(/team\/flat\.result\.json +flat +\S+ +ZipLayoutInvalid: /);

    // Fixed and copied in again: published, nothing failed is left; the lone manifest still waits, exit 8.
    await writeFile(join(folder, 'flat.zip'), layerZip({ 'nodejs/node_modules/x/index.js': 'x' }));
    const fixed = await npmStart(args);
    expect(fixed).toMatchObject({ code: 8, err: '' });
    expect(fixed.out).toMatch(/team\/flat\.zip +flat +1 +published/);
    expect(fixed.out).toContain('1 pair(s) waiting for their other half');
    expect(fixed.out).toMatch(/^team\/half\.result\.json +/m);

    // Its zip comes: nothing waits any more, exit 0.
    await writeFile(join(folder, 'half.zip'), layerZip({ 'nodejs/node_modules/y/index.js': 'y' }));
    const whole = await npmStart(args);
    expect(whole).toMatchObject({ code: 0, err: '' });
    expect(whole.out).toMatch(/team\/half\.zip +half +1 +published/);
    await rm(dataDir, { recursive: true, force: true });
  }, 120_000);
});
