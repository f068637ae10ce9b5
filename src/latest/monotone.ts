import type * as z from 'zod/mini';
import { readMarker } from '../audit/marker';
import { highestInSequence } from '../audit/sequence';
import type { ObjectStore } from '../oss/store';

/** How far into its log a document is, and when it was last written. */
export interface Stamped {
  seq: number;
  updatedAt: string;
}

export interface MonotoneDocument<D extends Stamped, E> {
  /** The document readers read. */
  key: string;
  /** The log, under the audit prefix: `<logPrefix><n>.json`. */
  logPrefix: string;
  /** The document as the publisher writes it: one missing, unparsable or not of this shape is rebuilt from the log. */
  document: z.ZodMiniType<D>;
  /** A log entry as the publisher writes it: one not of this shape was not, and is skipped. */
  entry: z.ZodMiniType<E>;
  /** The document before any entry. */
  empty(): D;
  /** The document with the entry merged; merging must never move anything backwards, and twice is as once. */
  merge(document: D, entry: E): D;
  /** Whether the document already says all the entry says (then nothing is written). */
  covers(document: D, entry: E): boolean;
}

export interface MonotoneIo {
  store: ObjectStore;
  retrying: <T>(step: string, operation: (attempt: number) => Promise<T>) => Promise<T>;
  now: () => Date;
}

/** `current`: the document already held the entry; `written`: this writer wrote it. */
export type Advanced = 'current' | 'written';

/** A log longer than this is not ours (one entry per decision that changed the newest version). */
const MAX_LOG = 1 << 24;
/** Rounds before giving up to writers that keep appending: the next decision catches the document up. */
const MAX_ROUNDS = 6;
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
const MAX_ENTRY_BYTES = 256 * 1024;

/**
 * A document at a fixed key that only ever moves forward, though OSS has no conditional PUT
 * (PutObject refuses If-Match; only create-if-absent, `x-oss-forbid-overwrite`, exists).
 *
 * Every change is first appended to a log under the audit prefix (`<logPrefix><n>.json`, 1, 2, 3…,
 * each created if absent, so the log has no gaps and is never rewritten). The document says how
 * far into the log it is (`seq`): it holds every entry up to `seq`. A writer reads the document,
 * merges the log's entries after its `seq`, PUTs the whole document once, then reads it back and
 * looks at the log again: unless the document there has caught up with the log, it goes round
 * again. So whichever PUT lands last, its writer finds afterwards either a document that holds the
 * whole log or a reason to write again: an older writer's late PUT cannot have the last word
 * (docs/index-and-notices.md, "Two writers at once").
 */
export async function advance<D extends Stamped, E>(spec: MonotoneDocument<D, E>, entry: E, io: MonotoneIo): Promise<Advanced> {
  if (spec.covers(await readDocument(spec, io), entry)) return 'current';
  await append(spec, entry, io);
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const document = await readDocument(spec, io);
    const head = await highest(spec, io);
    let merged = document;
    for (let n = document.seq + 1; n <= head; n++) {
      const logged = await io.retrying('index.read', () => readMarker(io.store, entryKey(spec, n), spec.entry, MAX_ENTRY_BYTES));
      if (logged !== undefined) merged = spec.merge(merged, logged.value);
    }
    const written: D = { ...merged, seq: Math.max(document.seq, head), updatedAt: io.now().toISOString() };
    await io.retrying('index.write', () => io.store.put(spec.key, `${JSON.stringify(written, null, 2)}\n`, { contentType: 'application/json' }));
    const after = await readDocument(spec, io);
    if (after.seq >= (await highest(spec, io)) && spec.covers(after, entry)) return 'written';
  }
  throw new Error(`${spec.key}: other writers kept changing it over ${MAX_ROUNDS} rounds; the next decision of the layer brings it up to date`);
}

function entryKey(spec: { logPrefix: string }, n: number): string {
  return `${spec.logPrefix}${n}.json`;
}

function highest(spec: { logPrefix: string }, io: MonotoneIo): Promise<number> {
  return io.retrying('index.log', () => highestInSequence(io.store, (n) => entryKey(spec, n), MAX_LOG));
}

/** Appends at the first free place after the highest seen; another writer taking it moves this one on. */
async function append(spec: { logPrefix: string }, entry: unknown, io: MonotoneIo): Promise<void> {
  const body = JSON.stringify(entry);
  for (let n = (await highest(spec, io)) + 1; n <= MAX_LOG; n++) {
    const created = await io.retrying('index.log', () => io.store.put(entryKey(spec, n), body, { contentType: 'application/json', forbidOverwrite: true }));
    if (created === 'created') return;
  }
  throw new Error(`${spec.logPrefix}: over ${MAX_LOG} entries`);
}

async function readDocument<D extends Stamped, E>(spec: MonotoneDocument<D, E>, io: MonotoneIo): Promise<D> {
  return (await io.retrying('index.read', () => readMarker(io.store, spec.key, spec.document, MAX_DOCUMENT_BYTES)))?.value ?? spec.empty();
}
