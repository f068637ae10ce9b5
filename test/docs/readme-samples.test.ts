import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
      expect(sh.some((code) => code.includes(`npx layer-publisher ${command} `)), command).toBe(true);
    }
  });

  it('all run, in order, against a local stack as npm start runs it', async () => {
    const { stack } = await stacks.start(join(folder, '.local'));
    // As npm start goes on once it is up: files copied in are events, and the example layer is published.
    await stack.watch();
    await stack.scan();
    await stack.idle();
    const ports = { oss: new URL(stack.ossUrl).host, fc: new URL(stack.fcUrl).host };
    for (const sample of samples) await runSample(sample, ports);
    await stack.idle();
    // What the samples did is there: the layer published, the function made, the report written.
    const result = JSON.parse(await readFile(join(stack.bucketFolder, 'layers', 'my-layer.result.json'), 'utf8')) as PublishResult;
    expect(result).toMatchObject({ layerName: 'my-layer', version: 1 });
    expect(['published', 'unchanged']).toContain(result.status);
    expect(await readFile(join(folder, '.local', 'functions.json'), 'utf8')).toContain('"hello"');
    expect(await readFile(join(folder, 'audit.html'), 'utf8')).toContain('my-layer');
  }, 300_000);

  it('fail the test when one fails, naming its line', async () => {
    const broken: Sample = { language: 'sh', line: 7, code: 'npx layer-publisher check missing.zip\n' };
    await expect(runSample(broken, { oss: '', fc: '' })).rejects.toThrow(/^README line 7, the sh sample, failed:\n[\s\S]*missing\.zip/);
    const throwing: Sample = { language: 'js', line: 9, code: "await Promise.reject(new Error('no such layer'));\n" };
    await expect(runSample(throwing, { oss: '', fc: '' })).rejects.toThrow(/^README line 9, the js sample, failed:\n[\s\S]*no such layer/);
  });
});
