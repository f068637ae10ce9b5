import { execFileSync } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO = resolve(__dirname, '..', '..');
export const HANDLER_BUNDLE = join(REPO, 'dist', 'index.js');
export const HOST_SCRIPT = join(REPO, 'dist', 'local-host.js');
export const CLI_BUNDLE = join(REPO, 'dist', 'cli.js');
export const EXAMPLES_DIR = join(REPO, 'examples');

const LOCK = join(REPO, 'dist', '.test-build-lock');

/**
 * Builds dist/index.js, dist/local-host.js and dist/cli.js when they are missing or older than a source file:
 * the local stack runs the bundle, as the cloud does. Test files run in parallel, so one builds
 * under a lock folder and the others wait for it.
 */
export async function ensureBundles(): Promise<void> {
  await withBuildLock(async () => {
    if (isStale(HANDLER_BUNDLE) || isStale(HOST_SCRIPT) || isStale(CLI_BUNDLE)) {
      execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO, stdio: 'ignore' });
      execFileSync(process.execPath, ['scripts/build-tools.mjs'], { cwd: REPO, stdio: 'ignore' });
    }
  });
}

/** Runs `build` while no other test file builds dist/ (or runs something that does, as npm start). */
export async function withBuildLock<T>(build: () => Promise<T>): Promise<T> {
  mkdirSync(join(REPO, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      await sleep(100);
    }
  }
  try {
    return await build();
  } finally {
    rmdirSync(LOCK);
  }
}

function isStale(bundle: string): boolean {
  const built = statSync(bundle, { throwIfNoEntry: false });
  return built === undefined || newestSource(join(REPO, 'src')) > built.mtimeMs;
}

function newestSource(folder: string): number {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((newest, entry) => Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs), 0);
}
