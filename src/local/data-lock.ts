import { LayerPublisherError } from '../errors';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * One local stack per data folder: two would serve the same files, watch the same bucket folder and
 * both publish every upload. `<data>/.stack.lock` names the process holding the folder. A lock whose
 * process is gone (a stack killed with SIGKILL or a crash leaves one) is taken over, so it never
 * stays stuck; a lock that is not JSON (a holder killed while writing it) counts as gone too.
 */
const LOCK_FILE = '.stack.lock';
/** Passes through the loop before giving up: each pass means another stack took or let go of the lock meanwhile. */
const MAX_PASSES = 20;
/** Locks this process holds: a lock naming this pid is held only if it is one of them (else a previous life's). */
const heldHere = new Set<string>();

interface LockRecord {
  pid: number;
  /** How the holder was started, to tell it from an unrelated process given its pid after it died. */
  command: string;
  since: string;
}

export interface DataFolderLock {
  readonly path: string;
  release(): Promise<void>;
}

export class DataFolderInUseError extends LayerPublisherError {
  constructor(
    readonly folder: string,
    readonly pid: number,
  ) {
    super(`the data folder ${folder} is in use by another npm start (pid ${pid}); stop that one, or choose another folder with --data`);
    this.name = 'DataFolderInUseError';
  }
}

/** Takes the data folder for this process, or throws DataFolderInUseError naming the process that holds it. */
export async function lockDataFolder(folder: string): Promise<DataFolderLock> {
  await mkdir(folder, { recursive: true });
  const path = join(folder, LOCK_FILE);
  const mine: LockRecord = { pid: process.pid, command: commandOf(process.pid) ?? process.argv.join(' '), since: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  for (let pass = 0; pass < MAX_PASSES; pass += 1) {
    if (await createExclusively(path, text)) return held(path, text);
    const found = await readFile(path, 'utf8').catch(() => undefined);
    // Gone between the two calls: its holder let go; try again.
    if (found === undefined) continue;
    const holder = parse(found);
    if (holder !== undefined && isAlive(holder, path)) throw new DataFolderInUseError(folder, holder.pid);
    await takeOver(path, found);
  }
  throw new Error(`could not take the data folder ${folder}: ${path} kept changing hands`);
}

/**
 * Moves a dead holder's lock out of the way. Two stacks may find the same dead lock: the rename is
 * done once, and a stack that moved a lock other than the one it read (another stack's fresh lock)
 * puts it back. The caller then tries to create its own again.
 */
async function takeOver(path: string, deadText: string): Promise<void> {
  const aside = `${path}.${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== deadText) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

async function createExclusively(path: string, text: string): Promise<boolean> {
  try {
    await writeFile(path, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function held(path: string, text: string): DataFolderLock {
  heldHere.add(path);
  return {
    path,
    async release() {
      heldHere.delete(path);
      // Only our own: never a lock another stack took over after this one was thought dead.
      if ((await readFile(path, 'utf8').catch(() => undefined)) === text) await unlink(path).catch(() => undefined);
    },
  };
}

function parse(text: string): LockRecord | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<LockRecord>;
    return typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0 && typeof parsed.command === 'string'
      ? { pid: parsed.pid, command: parsed.command, since: String(parsed.since) }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The holder runs while its pid does and, where the system shows command lines (/proc), runs the
 * command that took the lock: after a restart the pid may belong to something else.
 */
function isAlive(holder: LockRecord, path: string): boolean {
  if (holder.pid === process.pid) return heldHere.has(path);
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it exists, run by another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const command = commandOf(holder.pid);
  return command === undefined || command === holder.command;
}

/** The command line of a process from /proc, or undefined where there is none to read. */
function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}
