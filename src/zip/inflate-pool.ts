import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { availableCores } from '../cores';
import { STREAM_OUTPUT_BYTES } from './inflate-stream';

/**
 * Large deflated entries inflated by worker threads, each synchronously into one kept buffer, with the
 * CRC-32 of what comes out taken there too. With zlib's own streams, every 256 KiB write is a trip to
 * zlib's thread pool and back, and each trip wakes a thread: on a 2-core machine that left a third of a
 * core idle while threads waited to run, and the JS thread did the CRC-32 of five times the zip's bytes
 * (docs/contents.md). A worker wakes once per write and does both. Used only where more than one core is
 * available (`os.availableParallelism()`, held to the container's CPU quota: src/cores.ts), one worker per
 * core; a single core keeps zlib's streams.
 */

/** What an entry's inflating has come to after a write: the bytes themselves stay in the worker. */
export interface Tally {
  /** Every byte unpacked so far, those past the declared size included. */
  readonly produced: number;
  /** The CRC-32 of the bytes unpacked up to the declared size (the same pieces as Unpacked.add takes). */
  readonly crc: number;
  /** Compressed bytes zlib took: fewer than written once the deflate stream has ended. */
  readonly consumed: number;
  /** zlib's failure, its message and code as a zlib stream's error carries them. */
  readonly error?: { readonly message: string; readonly code: string | undefined };
  /** The worker stopped inflating: the entry unpacked past `room`. */
  readonly stopped?: boolean;
}

export interface PooledEntry {
  /**
   * Inflates `input` after what was written before, stopping once the entry has unpacked past `room`
   * bytes in all. `input`'s memory goes to the worker: the whole of an ArrayBuffer made for it, that
   * nothing else views.
   */
  write(input: Uint8Array, room: number): Promise<Tally>;
  /** The end of the compressed bytes: zlib's final flush. */
  end(room: number): Promise<Tally>;
}

/** Where the entry takes up: the bytes unpacked before it (stored blocks), and their CRC-32. */
export interface PooledStart {
  /** The size the entry's header declares: bytes past it are counted, not hashed. */
  readonly declared: number;
  readonly produced: number;
  readonly crc: number;
  readonly dictionary?: Uint8Array | undefined;
}

type Request =
  | { readonly id: number; readonly kind: 'open'; readonly start: PooledStart }
  | { readonly id: number; readonly kind: 'write'; readonly input: Uint8Array; readonly room: number }
  | { readonly id: number; readonly kind: 'end'; readonly room: number }
  | { readonly id: number; readonly kind: 'drop' };

/** A write's input memory comes back with its reply, for the next batch (batchMemory). */
type Reply = { readonly id: number; readonly tally: Tally; readonly input?: Uint8Array | undefined };

/** What the worker needs of node:worker_threads' MessagePort. */
interface Port {
  on(event: 'message', listener: (request: Request) => void): void;
  postMessage(reply: Reply, transfer: ArrayBuffer[]): void;
}

/** What the worker uses of a zlib stream's internals (Node 20's lib/zlib.js). */
interface Engine {
  _handle: {
    writeSync(flush: number, input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number, outLength: number): void;
    onerror: (message: string, errno: number, code?: string) => void;
  };
  _writeState: Uint32Array;
  close(): void;
}

/**
 * The worker's whole program. It is started from its source text (`eval`), so it uses nothing but its
 * arguments: the bundle is one file, and it must not load the function's code into every worker.
 */
function serveInflates(port: Port, zlibModule: typeof zlib, outputBytes: number): void {
  interface Open {
    readonly declared: number;
    readonly tally: { produced: number; crc: number; consumed: number };
    /** Until the entry's failure or stop, whose tally then answers every write still on its way. */
    engine: Engine | undefined;
    last?: Tally;
  }
  const output = Buffer.allocUnsafe(outputBytes);
  const entries = new Map<number, Open>();
  const unknown: Tally = { produced: 0, crc: 0, consumed: 0, error: { message: 'no such entry open in the inflating worker', code: undefined } };
  const run = (entry: Open, engine: Engine, flush: number, input: Uint8Array, room: number): Tally => {
    const { tally } = entry;
    let failure: { message: string; code: string | undefined } | undefined;
    engine._handle.onerror = (message, _errno, code) => {
      failure = { message, code };
    };
    let offset = 0;
    let left = input.length;
    // Each trip has the whole buffer as room, as a zlib stream's trips do when its output is kept
    // (inflate-stream.ts): the same trips, so the same failures at the same bytes.
    for (;;) {
      engine._handle.writeSync(flush, input, offset, left, output, 0, outputBytes);
      if (failure !== undefined) return { ...tally, error: failure };
      const [outLeft = 0, inLeft = 0] = engine._writeState;
      const have = outputBytes - outLeft;
      tally.consumed += left - inLeft;
      offset += left - inLeft;
      left = inLeft;
      tally.produced += have;
      // As Unpacked.add: a piece that takes the entry past its declared size is counted, not hashed.
      if (tally.produced <= entry.declared) tally.crc = zlibModule.crc32(output.subarray(0, have), tally.crc);
      else if (tally.produced > room) return { ...tally, stopped: true };
      // Output room left: zlib has taken all it will of this input (all of it, or the stream ended).
      if (outLeft !== 0) return { ...tally };
    }
  };
  /** A write, or the end where `input` is undefined, after which the entry is gone. */
  const answer = (id: number, entry: Open, input: Uint8Array | undefined, flush: number, room: number): Tally => {
    if (input === undefined) entries.delete(id);
    const { engine } = entry;
    if (engine === undefined) return entry.last!;
    const tally = run(entry, engine, flush, input ?? new Uint8Array(0), room);
    if (input === undefined || tally.error !== undefined || tally.stopped === true) {
      engine.close();
      entry.engine = undefined;
      entry.last = tally;
    }
    return tally;
  };
  port.on('message', (request) => {
    if (request.kind === 'open') {
      const { dictionary, declared, produced, crc } = request.start;
      const engine = zlibModule.createInflateRaw(dictionary === undefined ? {} : { dictionary }) as unknown as Engine;
      entries.set(request.id, { engine, declared, tally: { produced, crc, consumed: 0 } });
      return;
    }
    const entry = entries.get(request.id);
    if (request.kind === 'drop') {
      entry?.engine?.close();
      entries.delete(request.id);
      return;
    }
    // Every write and end is answered, in the order they came: the pool pairs the answers with them so.
    if (request.kind === 'end') {
      const tally = entry === undefined ? unknown : answer(request.id, entry, undefined, zlibModule.constants.Z_FINISH, request.room);
      port.postMessage({ id: request.id, tally }, []);
    } else {
      const tally = entry === undefined ? unknown : answer(request.id, entry, request.input, zlibModule.constants.Z_NO_FLUSH, request.room);
      port.postMessage({ id: request.id, tally, input: request.input }, [request.input.buffer as ArrayBuffer]);
    }
  });
}

/**
 * Input memory the workers gave back: a batch copied into fresh memory each time left the workers' heaps
 * holding their received batches until a collection, which their few allocations rarely bring about.
 */
const spareInputs: ArrayBuffer[] = [];
const MAX_SPARE_INPUTS = 16;
/**
 * The least memory made for a batch: entry-data.ts gathers 256 KiB, and the socket chunk that takes a
 * batch past it adds up to 64 KiB. An entry's last, smaller batch gets as much, so every spare fits any batch.
 */
export const BATCH_MEMORY_BYTES = 320 * 1024;

/** `bytes` of memory of its own for a batch going to a worker, from the spares when one is large enough. */
export function batchMemory(bytes: number): Uint8Array {
  const index = spareInputs.findIndex((memory) => memory.byteLength >= bytes);
  const memory = index >= 0 ? spareInputs.splice(index, 1)[0]! : new ArrayBuffer(Math.max(bytes, BATCH_MEMORY_BYTES));
  return new Uint8Array(memory, 0, bytes);
}

function giveBack(memory: ArrayBuffer): void {
  if (spareInputs.length < MAX_SPARE_INPUTS) spareInputs.push(memory);
}

const WORKER_SOURCE = `const { parentPort, workerData } = require('node:worker_threads');
(${serveInflates.toString()})(parentPort, require('node:zlib'), workerData);`;

interface Waiter {
  readonly id: number;
  resolve(tally: Tally): void;
  reject(error: Error): void;
}

/** One worker and the replies it owes, in the order it was asked: it answers every write and end in turn. */
class PoolWorker {
  readonly worker = new Worker(WORKER_SOURCE, { eval: true, workerData: STREAM_OUTPUT_BYTES });
  private readonly waiting: Waiter[] = [];
  open = 0;
  dead: Error | undefined;

  constructor(onDeath: () => void) {
    // Idle, a worker must not keep a CLI's process alive; it is held only while it owes a reply.
    this.worker.unref();
    const die = (error: Error) => {
      this.dead ??= error;
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.dead);
      onDeath();
    };
    this.worker.on('message', (reply: Reply) => {
      if (reply.input !== undefined) giveBack(reply.input.buffer as ArrayBuffer);
      const waiter = this.waiting.shift();
      if (waiter?.id !== reply.id) {
        // A bug: the answers no longer pair with the questions, so none can be trusted.
        if (waiter !== undefined) this.waiting.unshift(waiter);
        die(new Error(`the inflating worker answered entry ${reply.id} out of turn`));
        void this.worker.terminate();
        return;
      }
      waiter.resolve(reply.tally);
      if (this.waiting.length === 0) this.worker.unref();
    });
    this.worker.on('error', (error) => die(new Error(`the inflating worker thread failed: ${error.message}`, { cause: error })));
    this.worker.on('exit', (code) => die(new Error(`the inflating worker thread exited (code ${code})`)));
  }

  /** `owned`: the request's input, whose memory goes to the worker (the caller made it for this and keeps no view of it). */
  ask(request: Request & { kind: 'write' | 'end' }, owned?: Uint8Array): Promise<Tally> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: request.id, resolve, reject });
      if (this.waiting.length === 1) this.worker.ref();
      this.post(request, owned);
    });
  }

  post(request: Request, owned?: Uint8Array): void {
    // A batch's memory is an ArrayBuffer made for it (entry-data.ts), never a SharedArrayBuffer.
    if (this.dead === undefined) this.worker.postMessage(request, owned === undefined ? [] : [owned.buffer as ArrayBuffer]);
  }
}

let nextId = 0;

export class InflatePool {
  private readonly workers: (PoolWorker | undefined)[];
  /**
   * Whether every worker started is alive. One that died (out of memory, or a bug) failed its entries'
   * reads, which the platform delivers again; the process's later entries then go to zlib's streams.
   */
  usable = true;
  /** An entry its reader let go (another range failed) before its end: the worker lets its engine go too. */
  private readonly abandoned = new FinalizationRegistry<{ worker: PoolWorker; id: number }>(({ worker, id }) => {
    worker.open--;
    worker.post({ id, kind: 'drop' });
  });

  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => undefined);
  }

  open(start: PooledStart): PooledEntry {
    const worker = this.leastBusy();
    const id = nextId++;
    worker.open++;
    worker.post({ id, kind: 'open', start });
    const token = {};
    const pooled: PooledEntry = {
      write: (input, room) => this.settle(worker, token, worker.ask({ id, kind: 'write', input, room }, input), false),
      end: (room) => this.settle(worker, token, worker.ask({ id, kind: 'end', room }), true),
    };
    this.abandoned.register(pooled, { worker, id }, token);
    return pooled;
  }

  /** The worker forgets an entry at its last answer (its end, zlib's failure, a stop), or by dying: the pool's count of it ends there too. */
  private async settle(worker: PoolWorker, token: object, asked: Promise<Tally>, last: boolean): Promise<Tally> {
    let tally: Tally;
    try {
      tally = await asked;
    } catch (error) {
      this.closed(worker, token);
      throw error;
    }
    if (last || tally.error !== undefined || tally.stopped === true) this.closed(worker, token);
    return tally;
  }

  private closed(worker: PoolWorker, token: object): void {
    if (this.abandoned.unregister(token)) worker.open--;
  }

  /** The worker with the fewest entries open; each is started for the first entry that finds its place empty. */
  private leastBusy(): PoolWorker {
    let chosen: PoolWorker | undefined;
    for (const [index, worker] of this.workers.entries()) {
      if (worker === undefined) {
        const started = new PoolWorker(() => {
          this.usable = false;
        });
        this.workers[index] = started;
        return started;
      }
      if (chosen === undefined || worker.open < chosen.open) chosen = worker;
    }
    // The constructor's size is at least 2 (inflatePool).
    return chosen!;
  }
}

let pool: InflatePool | null | undefined;

/**
 * The process's pool, its workers started by the first large entries; undefined on one core, where zlib
 * is not built as expected, or once a worker has died.
 */
export function inflatePool(): InflatePool | undefined {
  pool ??= startPool();
  return pool?.usable === true ? pool : undefined;
}

function startPool(): InflatePool | null {
  const cores = availableCores();
  return cores > 1 && canPool() ? new InflatePool(cores) : null;
}

function canPool(): boolean {
  if (typeof (zlib as { crc32?: unknown }).crc32 !== 'function') return false;
  const probe = zlib.createInflateRaw();
  const engine = probe as unknown as Partial<Engine>;
  const fits = typeof engine._handle?.writeSync === 'function' && engine._writeState instanceof Uint32Array;
  probe.close();
  return fits;
}
