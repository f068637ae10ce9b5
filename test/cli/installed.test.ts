import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, ensureBundles } from '../local/bundles';
import { v8FlagRecorder } from '../support/v8-flags';

/** The command as package.json's `bin` names it: what npm links and npx runs. */
const packageJson = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const BIN = join(REPO, packageJson.bin['layer-publisher']!);

interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command in a child process; `closeStdout` closes the reading end of its stdout pipe at once, as `| head` does. */
function runProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; closeStdout?: boolean } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: { PATH: process.env.PATH, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

let dir: string;
let zip: string;

beforeAll(async () => {
  await ensureBundles();
  dir = await mkdtemp(join(tmpdir(), 'cli-installed-'));
  zip = join(dir, 'tool.zip');
  await writeFile(zip, zipSync({ 'bin/tool': Buffer.from('#!/bin/sh\necho tool\n') }));
  await writeFile(join(dir, 'tool.layer.json'), JSON.stringify({ layerName: 'tool', compatibleRuntime: ['custom'] }));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('layer-publisher as a process', () => {
  it('a malformed variable is one line naming it, exit 2, no stack', async () => {
    const { code, err } = await runProcess(process.execPath, [BIN, 'check', zip], { env: { MAX_ZIP_BYTES: 'abc' } });
    expect({ code, err }).toEqual({ code: 2, err: 'layer-publisher check: MAX_ZIP_BYTES must be a positive whole number of bytes, got "abc"\n' });
  });

  it('checks zips in the heap the function reads them in: V8 growing factor four (src/heap.ts)', async () => {
    const recorder = await v8FlagRecorder(dir);
    expect(await runProcess(process.execPath, [...recorder.args, BIN, 'check', zip])).toMatchObject({ code: 0 });
    expect(await recorder.take()).toEqual(['--heap-growing-percent=300']);
  });

  it('ends quietly, with its own exit code, when its output pipe is closed (| head)', async () => {
    expect(await runProcess(process.execPath, [BIN, 'check', zip], { closeStdout: true })).toEqual({ code: 0, out: '', err: '' });
    expect(await runProcess(process.execPath, [BIN, 'check', join(dir, 'none.zip')], { closeStdout: true })).toMatchObject({
      code: 2,
      err: expect.stringContaining('none.zip: no such file'),
    });
  });

  it('before a build, says how to build instead of "not found"', async () => {
    const unbuilt = join(dir, 'unbuilt');
    await mkdir(join(unbuilt, 'bin'), { recursive: true });
    await copyFile(BIN, join(unbuilt, 'bin', 'layer-publisher.js'));
    const { code, out, err } = await runProcess(process.execPath, [join(unbuilt, 'bin', 'layer-publisher.js'), '--version'], { cwd: unbuilt });
    expect({ code, out }).toEqual({ code: 2, out: '' });
    expect(err).toBe(`layer-publisher is not built yet: dist/cli.js is missing; run npm run build (or npm start) in ${unbuilt}\n`);
  });
});

describe('npm pack, installed into an empty folder', () => {
  let packed: string;

  beforeAll(async () => {
    packed = await mkdtemp(join(tmpdir(), 'cli-pack-'));
    // The bundles are fresh (ensureBundles): skip prepack's build, which would race the other test files reading dist/.
    await promisify(execFile)('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packed], { cwd: REPO });
  }, 120_000);
  afterAll(() => rm(packed, { recursive: true, force: true }));

  const tarball = (): string => join(packed, `oss-layer-publisher-${packageJson.version}.tgz`);

  it('holds the command and its bundle, which runs with no node_modules at all', async () => {
    const bare = join(packed, 'bare');
    await mkdir(bare);
    await promisify(execFile)('tar', ['-xzf', tarball(), '-C', bare]);
    const command = join(bare, 'package', packageJson.bin['layer-publisher']!);
    expect(await runProcess(process.execPath, [command, '--version'], { cwd: bare })).toEqual({
      code: 0,
      out: `layer-publisher ${packageJson.version}\n`,
      err: '',
    });
    const check = await runProcess(process.execPath, [command, 'check', zip, '--json'], { cwd: bare });
    expect(check.code).toBe(0);
    expect(JSON.parse(check.out)).toMatchObject({ ok: true, manifest: { layerName: 'tool' }, zip: { entries: 1 } });
  });

  it('ships a package.json with no dependencies and a bundle under 3 MB without an inline source map', async () => {
    const bare = join(packed, 'manifest');
    await mkdir(bare);
    await promisify(execFile)('tar', ['-xzf', tarball(), '-C', bare]);
    const shipped = JSON.parse(await readFile(join(bare, 'package', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(shipped.dependencies).toBeUndefined();
    expect(shipped.optionalDependencies).toBeUndefined();
    expect(shipped.peerDependencies).toBeUndefined();
    const bundle = await readFile(join(bare, 'package', 'dist', 'cli.js'), 'utf8');
    expect(Buffer.byteLength(bundle)).toBeLessThan(3 * 1024 * 1024);
    expect(bundle).not.toContain('sourceMappingURL=data:');
  });

  it('npm install --offline of the tarball alone gives a working layer-publisher and nothing else: --version, --help, check of a real zip', async () => {
    const app = join(packed, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    // --offline: with no dependency to fetch, the tarball installs without the registry.
    await promisify(execFile)('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball()], { cwd: app });
    const installed = (await readdir(join(app, 'node_modules'))).filter((name) => !name.startsWith('.'));
    expect(installed).toEqual(['oss-layer-publisher']);
    const command = join(app, 'node_modules', '.bin', 'layer-publisher');
    expect(await runProcess(command, ['--version'], { cwd: app })).toEqual({ code: 0, out: `layer-publisher ${packageJson.version}\n`, err: '' });
    expect(await runProcess(command, ['--help'], { cwd: app })).toMatchObject({ code: 0, out: expect.stringContaining('Usage: layer-publisher <command>') });
    expect(await runProcess(command, ['check', zip], { cwd: app })).toMatchObject({
      code: 0,
      out: expect.stringContaining('ok: the function would accept this layer'),
    });
  }, 240_000);
});
