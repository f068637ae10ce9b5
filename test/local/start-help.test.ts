import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { exitCodesHelp } from '../../src/console/io';
import { DEFAULT_BUCKET, DEFAULT_DATA_DIR, DEFAULT_OSS_PORT, LOCAL_REGION } from '../../src/console/local-account';
import { START_EXIT_CODES, START_HELP_FILE, startHelp } from '../../src/local/help';
import { REGION_PORT_STEP, REGIONS_FOLDER } from '../../src/local/regions';
import { REPO, withBuildLock } from './bundles';

describe('npm start -- --help', () => {
  it('states the defaults the stack uses and the exit codes it ends with', () => {
    const help = startHelp(REPO);
    for (const stated of [
      `--port <n>        local OSS port (default ${DEFAULT_OSS_PORT})`,
      `--data <dir>      data folder (default ${DEFAULT_DATA_DIR})`,
      `--bucket <name>   bucket to serve and watch (default ${DEFAULT_BUCKET})`,
      `on --port + ${REGION_PORT_STEP}, + ${REGION_PORT_STEP * 2}…`,
      `<dir>/${REGIONS_FOLDER}/<region>/ (home: ${LOCAL_REGION})`,
    ]) {
      expect(help).toContain(stated);
    }
    // The codes' behaviour: test/local/stack.test.ts (1, 2, 7, 8) and the runs that end with 0.
    expect(help.endsWith(`\n\n${exitCodesHelp(START_EXIT_CODES)}`)).toBe(true);
  });

  it('answers before any build: scripts/start.mjs prints the help file and leaves dist/ alone', async () => {
    const bundle = join(REPO, 'dist', 'index.js');
    // Under the build lock: no other test file rebuilds dist/ meanwhile, so an unchanged bundle means start.mjs built nothing.
    await withBuildLock(async () => {
      const before = await stat(bundle).catch(() => undefined);
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO, 'scripts', 'start.mjs'), '--help'], { cwd: REPO });
      expect({ stdout, stderr }).toEqual({ stdout: await readFile(join(REPO, START_HELP_FILE), 'utf8'), stderr: '' });
      expect((await stat(bundle).catch(() => undefined))?.mtimeMs).toBe(before?.mtimeMs);
    });
  });
});

describe('npm start -- --json', () => {
  it('writes only JSON lines to stdout: the build says what it built on stderr', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'start-json-'));
    try {
      // start.mjs rebuilds dist/: under the lock the other test files take before reading it.
      const { code, stdout, stderr } = await withBuildLock(() => runStart(['--json', '--once', '--port', '0', '--data', dataDir]));
      expect(code).toBe(0);
      const lines = stdout.split('\n').filter((line) => line !== '');
      expect(lines.length).toBeGreaterThan(3);
      for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
      expect(lines.map((line) => (JSON.parse(line) as { kind?: string }).kind)).toContain('outcome');
      expect(stderr).toContain('dist/index.js: ');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

function runStart(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(REPO, 'scripts', 'start.mjs'), ...args], { cwd: REPO }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}
