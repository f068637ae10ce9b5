import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_BUCKET, startLoopbackCloud, testContext, type LoopbackCloud } from '../support/cloud';
import { independentCrc64, patternBytes } from '../support/independent';
import { manifestBytes } from '../support/layers';

interface BuildScript {
  STUBBED: Record<string, string>;
  STUB_WARNING_CODE: string;
  stubPlugin(stubbed?: Record<string, string>): unknown;
}

/**
 * scripts/build.mjs replaces ws, axios and iconv-lite with modules that throw on any use (testing.md §7).
 * Safe only while the publish path never reaches them: proven here on a bundle of its own, so this file
 * does not race bundle.test.ts over dist/.
 */
const exec = promisify(execFile);
let workDir: string;
let cloud: LoopbackCloud;
let buildScript: BuildScript;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'stubs-'));
  await exec(process.execPath, ['scripts/build.mjs', '--outdir', workDir]);
  const scriptPath = resolve('scripts/build.mjs');
  buildScript = (await import(scriptPath)) as BuildScript;
  cloud = await startLoopbackCloud();
}, 60_000);

afterAll(async () => {
  await cloud?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function runNode(script: string, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; answer: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: workDir,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let answer = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (answer += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stderr, answer }));
  });
}

describe('the stubbed packages', () => {
  it('are not in the bundle at all', async () => {
    const meta = JSON.parse(await readFile(join(workDir, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    for (const name of Object.keys(buildScript.STUBBED)) {
      expect(Object.keys(meta.inputs).filter((path) => path.includes(`node_modules/${name}/`))).toEqual([]);
    }
  });

  it('fail loudly when used: a warning with its code on stderr, then a thrown error naming the package', async () => {
    const { build } = await import('esbuild');
    const probe = join(workDir, 'probe.js');
    await build({
      stdin: { contents: `exports.ws = require('ws');`, resolveDir: process.cwd() },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: probe,
      plugins: [buildScript.stubPlugin() as never],
      logLevel: 'silent',
    });

    const run = await runNode(`
      const { ws } = require(${JSON.stringify(probe)});
      try { new ws('ws://127.0.0.1'); } catch (error) { require('fs').writeSync(3, error.message); }`);

    expect(run.answer).toMatch(/^ws is stubbed out of the bundle by scripts\/build\.mjs .* but was used$/);
    expect(run.stderr).toContain(buildScript.STUB_WARNING_CODE);
  });

  it('are never reached on the publish path (ranged read included)', async () => {
    // Stored, so it stays over MIN_RANGE_BYTES × 2 and the default READ_CONCURRENCY reads it in ranges.
    const zip = Buffer.from(zipSync({ 'python/stub/data.bin': patternBytes(20 * 1024 * 1024, 11), 'python/stub/__init__.py': new Uint8Array() }, { level: 0 }));
    await cloud.oss.putObject(TEST_BUCKET, 'layers/stub.zip', zip);
    await cloud.oss.putObject(TEST_BUCKET, 'layers/stub.layer.json', manifestBytes({ layerName: 'stub', compatibleRuntime: ['python3.10'] }));
    const event = await cloud.oss.objectCreatedEvent(TEST_BUCKET, 'layers/stub.zip');
    await writeFile(join(workDir, 'event.json'), JSON.stringify({ events: [event] }));

    const run = await runNode(
      `require('./index.js').handler(require('fs').readFileSync('event.json'), JSON.parse(process.env.TEST_CONTEXT)).then(
        (summary) => require('fs').writeSync(3, JSON.stringify(summary)),
        (error) => { require('fs').writeSync(3, JSON.stringify({ rejected: String(error && error.message) })); },
      );`,
      {
        OSS_ENDPOINT: cloud.ossEndpoint,
        FC_ENDPOINT: cloud.fcEndpoint,
        TEST_CONTEXT: JSON.stringify({ ...testContext('stubs-run'), function: { timeout: 120 } }),
      },
    );

    expect(run.stderr).not.toContain(buildScript.STUB_WARNING_CODE);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.answer)).toEqual([{ key: 'layers/stub.zip', status: 'published', layerName: 'stub', version: 1 }]);
    expect(cloud.fc.versions('stub')[0]?.codeChecksum).toBe(independentCrc64(zip));
    const gets = cloud.oss.requests.entries.filter((request) => request.method === 'GET' && request.key === 'layers/stub.zip');
    expect(gets.length).toBeGreaterThan(1);
  }, 60_000);
});
