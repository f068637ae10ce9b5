import * as z from 'zod/mini';
import { formatAge, formatTable, type TableOptions } from './format';

/**
 * A `waiting` result's `waiting` field: the key of the half of the pair that is not there yet, since
 * when the other half is (its Last-Modified), and a key found beside it that was probably meant.
 */
const WAITING = z.object({
  missing: z.string(),
  since: z.string(),
  nearMiss: z.optional(z.object({ key: z.string(), fix: z.string() })),
});

export type Waiting = z.infer<typeof WAITING>;

/** The `waiting` field of a result as read from the bucket; undefined when it has none, or one we cannot read. */
export function waitingOf(result: unknown): Waiting | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const parsed = WAITING.safeParse((result as { waiting?: unknown }).waiting);
  return parsed.success ? parsed.data : undefined;
}

/** One pair that waits, as `results` and `npm start --once` list it. */
export interface WaitingPair {
  /** The result's key: where the pair's story is. */
  result: string;
  /** Undefined when the result does not say (written by an older publisher). */
  waiting: Waiting | undefined;
}

/** How long a pair has waited at `now`, or "?" when its `since` is not a time. */
export function waitedFor(waiting: Waiting, now: Date): string {
  const since = Date.parse(waiting.since);
  return Number.isNaN(since) ? '?' : formatAge(now.getTime() - since);
}

/** What waits, for how long, for which key, and the near miss with its fix when one was found. */
export function waitingTable(pairs: readonly WaitingPair[], now: Date, options: TableOptions = {}): string {
  const rows = pairs.map(({ result, waiting }) => [
    result,
    waiting === undefined ? '?' : waitedFor(waiting, now),
    waiting?.missing ?? '-',
    waiting?.nearMiss === undefined ? '-' : `${waiting.nearMiss.key}: ${waiting.nearMiss.fix}`,
  ]);
  return formatTable(['result', 'waiting', 'for', 'near miss'], rows, options);
}
