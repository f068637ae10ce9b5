import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run';

let dir: string;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t), env: {}, interactive: false });
  return { code, out, err };
}

async function layer(stem: string, files: Record<string, string>, manifest: unknown): Promise<string> {
  await writeFile(join(dir, `${stem}.zip`), zipSync(Object.fromEntries(Object.entries(files).map(([n, t]) => [n, Buffer.from(t)]))));
  await writeFile(join(dir, `${stem}.layer.json`), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return join(dir, `${stem}.zip`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('layer-publisher check', () => {
  it('accepts a good layer: exit 0, the CRC-64 and the manifest in --json', async () => {
    const zip = await layer('good', { 'nodejs/node_modules/a/index.js': 'x' }, { layerName: 'good', compatibleRuntime: ['nodejs20'] });
    const { code, out } = await run('check', zip, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ ok: true, zip: { entries: 1, crc64: expect.stringMatching(/^\d+$/) }, manifest: { layerName: 'good' }, problems: [] });
    expect((await run('check', zip)).out).toContain('ok: the function would accept this layer');
  });

  it('names the field of a bad manifest and the layout mistake: exit 1', async () => {
    const zip = await layer('bad', { 'node_modules/a/index.js': 'x' }, { layerName: 'bad', compatibleRuntime: ['nodjs20'] });
    const { code, out } = await run('check', zip, '--json');
    expect(code).toBe(1);
    const report = JSON.parse(out) as { problems: { code: string; message: string }[] };
    expect(report.problems.map((p) => p.code)).toEqual(['ManifestInvalid']);
    expect(report.problems[0]!.message).toContain('compatibleRuntime[0]');

    const flat = await layer('flat', { 'node_modules/a/index.js': 'x' }, { layerName: 'flat', compatibleRuntime: ['nodejs20'] });
    const layout = await run('check', flat, '--json');
    expect(layout.code).toBe(1);
    expect(JSON.parse(layout.out).problems).toMatchObject([{ code: 'ZipLayoutInvalid', message: expect.stringContaining('nodejs/node_modules/') }]);
  });

  it('refuses a file that is not a zip, with --manifest naming the manifest', async () => {
    await writeFile(join(dir, 'text.zip'), 'not a zip at all');
    const manifest = join(dir, 'good.layer.json');
    const { code, out } = await run('check', join(dir, 'text.zip'), '--manifest', manifest, '--json');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, problems: [{ code: 'ZipInvalid' }], manifest: { path: manifest } });
  });

  it('exits 2 naming the missing file, the unknown flag or the missing argument', async () => {
    const missing = await run('check', join(dir, 'nothing.zip'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nothing.layer.json');
    const unknown = await run('check', join(dir, 'good.zip'), '--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("'--bogus'");
    expect((await run('check')).code).toBe(2);
  });
});

describe('layer-publisher commands and help', () => {
  it('prints help for every command with exit 0, and usage with exit 2 for an unknown one', async () => {
    for (const command of ['check', 'publish', 'results']) {
      const { code, out } = await run(command, '--help');
      expect(code).toBe(0);
      expect(out).toContain(`Usage: layer-publisher ${command}`);
    }
    expect((await run('--help')).code).toBe(0);
    const unknown = await run('deploy');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown command "deploy"');
  });

  it('publish and results need --bucket and credentials, and say so', async () => {
    const zip = join(dir, 'good.zip');
    const noBucket = await run('publish', zip);
    expect(noBucket.code).toBe(2);
    expect(noBucket.err).toContain('--bucket is required');
    const noCredentials = await run('results', '--bucket', 'my-bucket', '--region', 'cn-hangzhou');
    expect(noCredentials.code).toBe(2);
    expect(noCredentials.err).toContain('ALIBABA_CLOUD_ACCESS_KEY_ID');
    const badEndpoint = await run('results', '--bucket', 'my-bucket', '--endpoint', 'nowhere');
    expect(badEndpoint.code).toBe(2);
    expect(badEndpoint.err).toContain('--endpoint');
  });

  it('publish refuses a bad layer before uploading anything: exit 1', async () => {
    const { code, out } = await run('publish', join(dir, 'bad.zip'), '--bucket', 'my-bucket', '--endpoint', 'http://127.0.0.1:9', '--json');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ status: 'refused', check: { problems: [{ code: 'ManifestInvalid' }] } });
  });
});
