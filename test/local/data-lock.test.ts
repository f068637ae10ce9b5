import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataFolderInUseError, lockDataFolder } from '../../src/local/data-lock';
import { REPO, ensureBundles } from './bundles';
import { npmStart } from './stack-harness';

const LOCK_FILE = '.stack.lock';
const folders: string[] = [];
const children: ChildProcess[] = [];

async function freshFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'data-lock-'));
  folders.push(folder);
  return folder;
}

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

/** The pid the lock file names, once it names one. */
async function lockHolder(folder: string): Promise<number> {
  for (;;) {
    const text = await readFile(join(folder, LOCK_FILE), 'utf8').catch(() => '');
    const pid = text === '' ? undefined : (JSON.parse(text) as { pid: number }).pid;
    if (pid !== undefined) return pid;
    await sleep(50);
  }
}

/** A pid that no process has any more: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('one stack per data folder, in one process', () => {
  it('a second lock is refused naming the holder; after release the folder can be taken again', async () => {
    const folder = await freshFolder();
    const first = await lockDataFolder(folder);
    const refused = await lockDataFolder(folder).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(DataFolderInUseError);
    expect((refused as Error).message).toBe(
      `the data folder ${folder} is in use by another npm start (pid ${process.pid}); stop that one, or choose another folder with --data`,
    );
    await first.release();
    expect(await readdir(folder)).toEqual([]);
    const again = await lockDataFolder(folder);
    await again.release();
  });

  it('takes over a lock whose process is gone, and one cut off while it was written', async () => {
    const folder = await freshFolder();
    await writeFile(join(folder, LOCK_FILE), `${JSON.stringify({ pid: await deadPid(), command: 'node dist/local.js', since: new Date().toISOString() })}\n`);
    const overDead = await lockDataFolder(folder);
    expect(JSON.parse(await readFile(join(folder, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    await overDead.release();

    await writeFile(join(folder, LOCK_FILE), '{"pid": 12');
    const overTorn = await lockDataFolder(folder);
    expect(JSON.parse(await readFile(join(folder, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    await overTorn.release();
    expect(await readdir(folder)).toEqual([]);
  });

  it('does not take over a live process that took the lock, but does when that pid now runs another command', async () => {
    const folder = await freshFolder();
    const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    children.push(live);
    const liveCommand = `${process.execPath} -e setInterval(() => {}, 1000)`;
    await writeFile(join(folder, LOCK_FILE), JSON.stringify({ pid: live.pid, command: liveCommand, since: '' }));
    await expect(lockDataFolder(folder)).rejects.toThrow(`(pid ${live.pid})`);

    await writeFile(join(folder, LOCK_FILE), JSON.stringify({ pid: live.pid, command: 'node dist/local.js', since: '' }));
    const taken = await lockDataFolder(folder);
    await taken.release();
  });
});

describe('npm start: one stack per data folder, across processes', () => {
  beforeAll(ensureBundles, 120_000);

  it('a second npm start on the same folder exits 7 with one line naming the folder and the pid; after the first is SIGKILLed, the next one starts', async () => {
    const folder = await freshFolder();
    const first = spawn(process.execPath, [join(REPO, 'dist', 'local.js'), '--port', '0', '--fc-port', '0', '--data', folder], {
      cwd: REPO,
      env: { PATH: process.env.PATH },
      stdio: 'ignore',
    });
    children.push(first);
    expect(await lockHolder(folder)).toBe(first.pid);

    const second = await npmStart(['--once', '--port', '0', '--fc-port', '0', '--data', folder]);
    expect({ code: second.code, err: second.err, out: second.out }).toEqual({
      code: 7,
      err: `npm start: the data folder ${folder} is in use by another npm start (pid ${first.pid}); stop that one, or choose another folder with --data\n`,
      out: '',
    });

    first.kill('SIGKILL');
    await new Promise((resolve) => first.on('exit', resolve));
    // The killed stack could not let go: its lock is still there, naming a process that is gone.
    expect(await lockHolder(folder)).toBe(first.pid);

    const third = await npmStart(['--once', '--port', '0', '--fc-port', '0', '--data', folder]);
    expect(third.err).not.toContain('in use');
    expect(third.code).toBe(0);
    // It let go when it stopped.
    expect((await readdir(folder)).includes(LOCK_FILE)).toBe(false);
  }, 120_000);
});
