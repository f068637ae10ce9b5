import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run';
import { zerosBomb } from '../fixtures/zips/bomb';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-bomb-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('layer-publisher check and a zip bomb', () => {
  it('refuses a 4 MB zip that unpacks to 4 GiB of zeros: exit 1, ZipTooLarge with both sizes', async () => {
    const zip = join(dir, 'bomb.zip');
    await writeFile(zip, zerosBomb(4096));
    await writeFile(join(dir, 'bomb.layer.json'), JSON.stringify({ layerName: 'bomb', compatibleRuntime: ['custom'] }));
    let out = '';
    const code = await runCli(['check', zip, '--json'], { out: (text) => void (out += text), err: () => undefined, env: {}, interactive: false });
    expect(code).toBe(1);
    const report = JSON.parse(out) as { ok: boolean; problems: { code: string; message: string }[] };
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({
      code: 'ZipTooLarge',
      message: expect.stringMatching(/unpacks to 4294967296 bytes \(4\.0 GiB\).*over MAX_UNPACKED_BYTES \(3145728000 bytes \(2\.9 GiB\)\)/),
    });
  });
});
