import type * as z from 'zod/mini';
import type { ObjectHead, ObjectStore } from '../oss/store';

/**
 * A marker read through its schema, and the head it came with (its Last-Modified, OSS's Date);
 * undefined when missing or not ours: larger than `maxBytes`, not JSON, or not the shape written
 * (docs/exactly-once.md: an unreadable marker counts as absent).
 */
export async function readMarkerThrough<T>(
  store: ObjectStore,
  key: string,
  maxBytes: number,
  schema: z.ZodMiniType<T>,
): Promise<{ value: T; head: ObjectHead } | undefined> {
  const read = await store.read(key, maxBytes);
  if (read === undefined || 'tooLarge' in read) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(read.body.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(body);
  return parsed.success ? { value: parsed.data, head: read.head } : undefined;
}
