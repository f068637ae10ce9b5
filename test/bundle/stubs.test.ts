import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FC_API_VERSIONS } from '../../src/config';
import { TEST_BUCKET, startLoopbackCloud, testContext, type LoopbackCloud } from '../support/cloud';
import { independentCrc64, patternBytes } from '../support/independent';
import { manifestBytes } from '../support/layers';

interface BuildScript {
  STUBBED: Record<string, string>;
  STUB_WARNING_CODE: string;
  stubPlugin(stubbed?: Record<string, string>): unknown;
}

/**
 * scripts/build.mjs replaces ws, axios, iconv-lite and the tea packages with modules that throw on any use (docs/reference/testing.md §7).
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

  it.each(['ws', 'axios', 'iconv-lite', '@alicloud/tea-typescript', '@alicloud/tea-util'])(
    '%s fails loudly when used: a warning with its code on stderr, then a thrown error naming the package',
    async (name) => {
      const { build } = await import('esbuild');
      const probe = join(workDir, 'probe.js');
      await build({
        stdin: { contents: `exports.stub = require(${JSON.stringify(name)});`, resolveDir: process.cwd() },
        bundle: true,
        platform: 'node',
        format: 'cjs',
        outfile: probe,
        plugins: [buildScript.stubPlugin() as never],
        logLevel: 'silent',
      });

      // Requiring it and the interop probe (__esModule) are not uses; calling or reading anything is.
      const run = await runNode(`
        const { stub } = require(${JSON.stringify(probe)});
        if (stub.__esModule !== true) throw new Error('no interop answer');
        try { stub.default.anything(); } catch (error) { require('fs').writeSync(3, error.message); }`);

      expect(run.answer).toBe(`${name} is stubbed out of the bundle by scripts/build.mjs (${buildScript.STUBBED[name]}), but was used`);
      expect(run.stderr).toContain(buildScript.STUB_WARNING_CODE);
    },
  );

  // Each API version signs through other packages (openapi-util for ACS3, fc2 for the FC scheme).
  it.each(FC_API_VERSIONS)(
    'are never reached on the publish path (ranged read included), FC_API_VERSION=%s',
    async (apiVersion) => {
      const layerName = `stub-${apiVersion}`;
      // Stored, so it stays over MIN_RANGE_BYTES × 2 and the default READ_CONCURRENCY reads it in ranges.
      const zip = Buffer.from(
        zipSync({ 'python/stub/data.bin': patternBytes(20 * 1024 * 1024, 11), 'python/stub/__init__.py': new Uint8Array() }, { level: 0 }),
      );
      await cloud.oss.putObject(TEST_BUCKET, `layers/${layerName}.zip`, zip);
      await cloud.oss.putObject(TEST_BUCKET, `layers/${layerName}.layer.json`, manifestBytes({ layerName, compatibleRuntime: ['python3.10'] }));
      const event = await cloud.oss.objectCreatedEvent(TEST_BUCKET, `layers/${layerName}.zip`);
      await writeFile(join(workDir, 'event.json'), JSON.stringify({ events: [event] }));

      const run = await runNode(
        `require('./index.js').handler(require('fs').readFileSync('event.json'), JSON.parse(process.env.TEST_CONTEXT)).then(
        (summary) => require('fs').writeSync(3, JSON.stringify(summary)),
        (error) => { require('fs').writeSync(3, JSON.stringify({ rejected: String(error && error.message) })); },
      );`,
        {
          OSS_ENDPOINT: cloud.ossEndpoint,
          FC_ENDPOINT: cloud.fcEndpoint,
          FC_API_VERSION: apiVersion,
          TEST_CONTEXT: JSON.stringify({ ...testContext('stubs-run'), function: { timeout: 120 } }),
        },
      );

      expect(run.stderr).not.toContain(buildScript.STUB_WARNING_CODE);
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.answer)).toEqual([{ key: `layers/${layerName}.zip`, status: 'published', layerName, version: 1 }]);
      expect(cloud.fc.versions(layerName)[0]?.codeChecksum).toBe(independentCrc64(zip));
      expect(cloud.fc.requests.entries.filter((request) => request.layerName === layerName).map((request) => request.path)).toContain(
        `/${apiVersion}/layers/${layerName}/versions`,
      );
      const gets = cloud.oss.requests.entries.filter((request) => request.method === 'GET' && request.key === `layers/${layerName}.zip`);
      expect(gets.length).toBeGreaterThan(1);
    },
    60_000,
  );
});
