import Fc2023Client, * as fc2023 from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/console/local-account';
import type { PublishResult } from '../../src/publish/result';
import { EXAMPLES_DIR, REPO, ensureBundles } from '../local/bundles';
import { useLocalStacks } from '../local/stack-harness';

/**
 * README's code samples, run as a newcomer runs them against `npm start` (CONTRIBUTING.md, "README
 * samples run"): a fenced block marked ```js sample is a CommonJS script for node, one marked
 * ```sh sample a bash script where `npx layer-publisher` is this repository's CLI.
 */
interface Sample {
  language: 'js' | 'sh';
  /** README's line of the opening fence, to name a sample that failed. */
  line: number;
  code: string;
}

const README = join(REPO, 'README.md');

function readmeSamples(markdown: string): Sample[] {
  const samples: Sample[] = [];
  const fence = /^```(js|sh) sample\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(fence)) {
    samples.push({ language: match[1] as Sample['language'], line: markdown.slice(0, match.index).split('\n').length, code: match[2]! });
  }
  return samples;
}

/** `npm start`'s ports as README writes them, and the ones the test's stack got. */
function onPorts(code: string, ports: { oss: string; fc: string }): string {
  return code.replaceAll('127.0.0.1:9000', ports.oss).replaceAll('127.0.0.1:9001', ports.fc);
}

/** Stands in for npx in the samples' PATH: `npx layer-publisher` in this repository runs its bin. */
const NPX = `#!/bin/sh
if [ "$1" != layer-publisher ]; then echo "npx $1: README's samples run layer-publisher only" >&2; exit 127; fi
shift
exec "${process.execPath}" "${join(REPO, 'bin', 'layer-publisher.js')}" "$@"
`;

const run = promisify(execFile);
let folder: string;

/** One sample in the samples' folder; rejects with its output when it exits non-zero. */
async function runSample(sample: Sample, ports: { oss: string; fc: string }): Promise<string> {
  const code = onPorts(sample.code, ports);
  const env = { PATH: `${join(folder, 'bin')}:${process.env.PATH}`, NODE_PATH: join(REPO, 'node_modules'), HOME: folder };
  try {
    if (sample.language === 'sh') return (await run('bash', ['-e', '-o', 'pipefail', '-c', code], { cwd: folder, env })).stdout;
    const script = join(folder, `sample-${sample.line}.cjs`);
    // Top-level await, as README's samples read; a rejection is the sample failing.
    await writeFile(script, `(async () => {\n${code}\n})().catch((error) => { console.error(error); process.exitCode = 1; });\n`);
    return (await run(process.execPath, [script], { cwd: folder, env })).stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`README line ${sample.line}, the ${sample.language} sample, failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** The example layer under examples/, zipped, as README's `my-layer.zip` with its manifest beside it. */
async function myLayer(): Promise<void> {
  const source = join(EXAMPLES_DIR, 'hello-layer');
  const files: Record<string, Uint8Array> = {};
  for (const entry of await readdir(source, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files[relative(source, join(entry.parentPath, entry.name))] = await readFile(join(entry.parentPath, entry.name));
  }
  await writeFile(join(folder, 'my-layer.zip'), zipSync(files));
  const manifest = JSON.parse(await readFile(join(EXAMPLES_DIR, 'hello-layer.layer.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(folder, 'my-layer.layer.json'), JSON.stringify({ ...manifest, layerName: 'my-layer' }));
}

const stacks = useLocalStacks();

beforeAll(async () => {
  await ensureBundles();
  folder = await mkdtemp(join(tmpdir(), 'readme-samples-'));
  await mkdir(join(folder, 'bin'));
  await writeFile(join(folder, 'bin', 'npx'), NPX);
  await chmod(join(folder, 'bin', 'npx'), 0o755);
  await myLayer();
}, 120_000);
afterAll(() => rm(folder, { recursive: true, force: true }));

describe("README's samples", () => {
  const samples = readmeSamples(readFileSync(README, 'utf8'));

  it('are there: ali-oss against the local OSS, the FC 3.0 SDK against the local FC, and the CLI', () => {
    const js = samples.filter((sample) => sample.language === 'js').map((sample) => sample.code);
    expect(js.some((code) => code.includes("require('ali-oss')"))).toBe(true);
    expect(js.some((code) => code.includes("require('@alicloud/fc20230330')") && code.includes("endpoint: '127.0.0.1:9001', protocol: 'http'"))).toBe(true);
    const sh = samples.filter((sample) => sample.language === 'sh').map((sample) => sample.code);
    for (const command of ['check', 'publish', 'results', 'audit', 'verify', 'report']) {
      expect(
        sh.some((code) => code.includes(`npx layer-publisher ${command} `)),
        command,
      ).toBe(true);
    }
  });

  it('all run, in order, against a local stack as npm start runs it', async () => {
    // As README's rollout section starts it: FC_API_VERSION=2023-03-30 ROLLOUT_FUNCTIONS='hello*' npm start.
    const { stack } = await stacks.start(join(folder, '.local'), undefined, { handlerEnv: { FC_API_VERSION: '2023-03-30', ROLLOUT_FUNCTIONS: 'hello*' } });
    // As npm start goes on once it is up: files copied in are events, and the example layer is published.
    await stack.watch();
    await stack.scan();
    await stack.idle();
    const ports = { oss: new URL(stack.ossUrl).host, fc: new URL(stack.fcUrl).host };
    const printed: string[] = [];
    for (const sample of samples) printed.push(await runSample(sample, ports));
    await stack.idle();
    // What the samples did is there: the layer published, the function made, the report written.
    const result = JSON.parse(await readFile(join(stack.bucketFolder, 'layers', 'my-layer.result.json'), 'utf8')) as PublishResult;
    // Version 2: the rollout section's manifest has other fields than the example's (one runtime, no description).
    expect(result).toMatchObject({ layerName: 'my-layer', version: 2 });
    expect(['published', 'unchanged']).toContain(result.status);
    expect(await readFile(join(folder, '.local', 'functions.json'), 'utf8')).toContain('"hello"');
    expect(await readFile(join(folder, 'audit.html'), 'utf8')).toContain('my-layer');
    // The rollout section: publish printed the rollout, the trail shows hello moved once, promote
    // moved prod fully to the one canary version, rollback put back hello and prod.
    const all = printed.join('');
    expect(all).toMatch(/"rollout": \{\s*"layerName": "my-layer",\s*"functions": \[\s*\{\s*"functionName": "hello"/);
    expect(all.match(/my-layer +home +2 +updated, rollout/g)).toHaveLength(1);
    expect(all).toMatch(/hello alias prod: version 1 \+ 0\.1 to version 2 -> version 2/);
    expect(all).toMatch(/hello alias prod: version 2 -> version 1/);
    const fc = new Fc2023Client(new $OpenApiUtil.Config({ ...LOCAL_CREDENTIALS, endpoint: ports.fc, protocol: 'http', regionId: LOCAL_REGION }));
    expect((await fc.getFunction('hello', new fc2023.GetFunctionRequest({}))).body?.layers?.map((layer) => layer.arn)).toEqual([
      `acs:fc:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:layers/hello-layer/versions/1`,
    ]);
    expect((await fc.getAlias('hello', 'prod')).body).toMatchObject({ versionId: '1', additionalVersionWeight: {} });
  }, 300_000);

  it('fail the test when one fails, naming its line', async () => {
    const broken: Sample = { language: 'sh', line: 7, code: 'npx layer-publisher check missing.zip\n' };
    await expect(runSample(broken, { oss: '', fc: '' })).rejects.toThrow(/^README line 7, the sh sample, failed:\n[\s\S]*missing\.zip/);
    const throwing: Sample = { language: 'js', line: 9, code: "await Promise.reject(new Error('no such layer'));\n" };
    await expect(runSample(throwing, { oss: '', fc: '' })).rejects.toThrow(/^README line 9, the js sample, failed:\n[\s\S]*no such layer/);
  });
});
