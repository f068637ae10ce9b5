import type * as z from 'zod/mini';
import type { ObjectHead, ObjectStore } from '../oss/store';

/** A marker read through its schema, with the head it came with (its Last-Modified, OSS's Date). */
export interface ReadMarker<T> {
  value: T;
  head: ObjectHead;
}

/**
 * One object the publisher writes under AUDIT_PREFIX or INDEX_PREFIX, read back through its schema:
 * undefined when it is missing, over `maxBytes`, not JSON, or not the shape the publisher writes.
 * Nothing under the audit prefix is ever overwritten, so such an object was not written by the
 * publisher and counts as absent (docs/exactly-once.md); each caller says beside its call what
 * absent means there.
 */
export async function readMarker<T>(store: ObjectStore, key: string, schema: z.ZodMiniType<T>, maxBytes: number): Promise<ReadMarker<T> | undefined> {
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
