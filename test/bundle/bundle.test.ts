import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBundle } from '../support/bundle-process';
import { TEST_BUCKET, startLoopbackCloud, type LoopbackCloud } from '../support/cloud';
import { independentCrc64, patternBytes } from '../support/independent';
import { NODE_MANIFEST, makeZip, manifestBytes, nodejsLayerZip } from '../support/layers';
import { expectNoSecrets } from '../publish/helpers';
import { recordForSecretScan, recordWrittenObjects } from '../support/secret-scan';

/**
 * The artifact as Function Compute runs it (docs/contract.md §1): dist/index.js alone in a folder, loaded by
 * a fresh Node process, talking to OSS and FC over real sockets with the real SDKs inside the bundle.
 */
let workDir: string;
let cloud: LoopbackCloud;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'bundle-'));
  // Built straight into an empty folder: no node_modules beside it, and no race over dist/ with
  // other test files that run the built stack.
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', workDir]);
  cloud = await startLoopbackCloud();
}, 60_000);

afterAll(async () => {
  if (cloud) await recordWrittenObjects(cloud);
  await cloud?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface Run {
  summary: unknown;
  stdout: string;
  stderr: string;
  code: number | null;
}

async function runBundle(events: unknown[]): Promise<Run> {
  const { answer, stdout, stderr, code } = await spawnBundle({ dir: workDir, cloud, events, requestId: 'bundle-run', timeoutSeconds: 120 }).done;
  recordForSecretScan('bundle stdout', stdout);
  recordForSecretScan('bundle stderr', stderr);
  return { summary: answer, stdout, stderr, code };
}

describe('dist/index.js on its own', () => {
  it('publishes over real sockets, logging only JSON lines without secrets', async () => {
    const zip = nodejsLayerZip('bundle');
    await cloud.oss.putObject(TEST_BUCKET, 'layers/bundle.zip', zip);
    await cloud.oss.putObject(TEST_BUCKET, 'layers/bundle.layer.json', manifestBytes({ ...NODE_MANIFEST, layerName: 'bundle' }));

    const run = await runBundle([await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/bundle.zip')]);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.summary).toEqual({ summary: [{ key: 'layers/bundle.zip', status: 'published', layerName: 'bundle', version: 1 }] });
    const lines = run.stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ requestId: 'bundle-run' });
    expectNoSecrets([run.stdout]);
    expect(cloud.fc.versions('bundle')[0]?.codeChecksum).toBe(independentCrc64(zip));
  });

  it('streams a 48 MiB zip and checks it byte for byte', async () => {
    const payload = patternBytes(48 * 1024 * 1024, 7);
    const zip = makeZip({ 'python/big/data.bin': payload, 'python/big/__init__.py': '' });
    await cloud.oss.putObject(TEST_BUCKET, 'layers/big.zip', zip);
    await cloud.oss.putObject(TEST_BUCKET, 'layers/big.layer.json', manifestBytes({ layerName: 'big', compatibleRuntime: ['python3.10'] }));

    const run = await runBundle([await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/big.layer.json')]);

    expect(run.summary).toEqual({ summary: [{ key: 'layers/big.layer.json', status: 'published', layerName: 'big', version: 1 }] });
    const result = JSON.parse(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, 'layers/big.result.json'))!).toString());
    expect(result.source).toMatchObject({ size: zip.length, crc64: independentCrc64(zip) });
  }, 60_000);
  it('inflates large compressible entries in worker threads, and refuses one whose bytes were changed', async () => {
    // Text a node_modules tree is made of: deflates about 5 to 1, and each entry goes to the inflating workers.
    const text = (seed: number) => new TextEncoder().encode(`module.exports.f${seed} = (a, b) => a + b * ${seed};\n`.repeat(400_000));
    const good = makeZip({ 'python/big/a.py': text(1), 'python/big/b.py': text(2), 'python/big/__init__.py': '' });
    const bad = Buffer.from(good);
    // A byte in the middle of the first entry's deflated data.
    bad[Math.floor(good.length / 4)]! ^= 0x10;
    for (const [name, zip] of [
      ['inflated', good],
      ['damaged', bad],
    ] as const) {
      await cloud.oss.putObject(TEST_BUCKET, `layers/${name}.zip`, zip);
      await cloud.oss.putObject(TEST_BUCKET, `layers/${name}.layer.json`, manifestBytes({ layerName: name, compatibleRuntime: ['python3.10'] }));
    }

    const published = await runBundle([await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/inflated.zip')]);
    const refused = await runBundle([await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/damaged.zip')]);

    expect(published.summary).toEqual({ summary: [{ key: 'layers/inflated.zip', status: 'published', layerName: 'inflated', version: 1 }] });
    expect(refused.code).toBe(0);
    const result = JSON.parse(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, 'layers/damaged.result.json'))!).toString());
    expect(result).toMatchObject({ status: 'failed', error: { code: 'ZipInvalid', message: expect.stringContaining('python/big/a.py') } });
  }, 60_000);
});

describe('dist/crc64.js on its own', () => {
  it('exports Crc64 and crc64Combine on decimal strings, usable as soon as it is loaded', async () => {
    const script = `
      const { Crc64, crc64Combine } = require('./crc64.js');
      const out = {
        check: new Crc64().update(Buffer.from('123456789')).digest(),
        empty: new Crc64().digest(),
        split: crc64Combine(new Crc64().update(Buffer.from('12345')).digest(), new Crc64().update(Buffer.from('6789')).digest(), 4),
        past4GiB: crc64Combine('11051210869376104954', '13595488808149494328', 4294967297),
      };
      process.stdout.write(JSON.stringify(out));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: workDir });
    // docs/reference/crc64.md §2: the check value, the empty input, and the combine vectors (one past 2^32 bytes).
    expect(JSON.parse(stdout)).toEqual({
      check: '11051210869376104954',
      empty: '0',
      split: '11051210869376104954',
      past4GiB: '6526656882836515889',
    });
  });
});
