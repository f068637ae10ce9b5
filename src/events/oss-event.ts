import { LayerPublisherError } from '../errors';
import * as z from 'zod/mini';
import { describeIssues } from '../validation';

export const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

const tolerantString = z.catch(z.optional(z.string()), undefined);

/**
 * One record of a native OSS trigger event, as Function Compute delivers it (docs/reference/alibaba-cloud.md §1.1).
 * Unknown fields are tolerated: only these are documented, and the platform may add more.
 */
const ossRecordSchema = z.looseObject({
  eventName: z.string().check(z.minLength(1)),
  eventSource: z.optional(z.string()),
  // Absent in hand-written replays; the result then records the time it was handled.
  eventTime: z.optional(z.string()),
  region: z.optional(z.string()),
  oss: z.looseObject({
    bucket: z.looseObject({
      name: z.string().check(z.regex(BUCKET_NAME, 'must be an OSS bucket name (3-63 lower-case letters, digits and -)')),
      arn: z.optional(z.string()),
    }),
    object: z.looseObject({
      key: z.string().check(z.minLength(1), z.maxLength(1023)),
      // Upper-case hex without quotes; a multipart upload's ends in -<parts>.
      eTag: z.string().check(z.minLength(1)),
      size: z.number().check(z.int(), z.nonnegative()),
    }),
  }),
  responseElements: z.optional(z.looseObject({ requestId: tolerantString })),
  // Provenance only (who uploaded, from where): a malformed value is dropped, never a refused record.
  requestParameters: z.catch(z.optional(z.looseObject({ sourceIPAddress: tolerantString })), undefined),
  userIdentity: z.catch(z.optional(z.looseObject({ principalId: tolerantString })), undefined),
});

export type OssRecord = z.infer<typeof ossRecordSchema>;

export type ParsedRecord =
  | { ok: true; index: number; record: OssRecord }
  | { ok: false; index: number; message: string; bucket: string | undefined; key: string | undefined; eventName: string | undefined };

export class EventParseError extends LayerPublisherError {
  constructor(message: string) {
    super(message);
    this.name = 'EventParseError';
  }
}

/** Trigger events above this are not OSS events (FC caps asynchronous payloads at 128 KB). */
const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Accepts what Function Compute hands the handler (a Buffer of JSON), a string, or a parsed object.
 * A malformed envelope throws; a malformed record is returned as such, so it cannot sink the others.
 */
export function parseOssEvent(raw: unknown): ParsedRecord[] {
  const envelope = decodeEnvelope(raw);
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    throw new EventParseError('the event is not a JSON object with an "events" array');
  }
  const events = (envelope as { events?: unknown }).events;
  if (!Array.isArray(events)) {
    throw new EventParseError('events: is required and must be an array of OSS event records');
  }
  return events.map((candidate, index) => parseRecord(candidate, index));
}

function decodeEnvelope(raw: unknown): unknown {
  if (Buffer.isBuffer(raw) || raw instanceof Uint8Array || typeof raw === 'string') {
    const length = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
    if (length > MAX_EVENT_BYTES) {
      throw new EventParseError(`the event is ${length} bytes, over the ${MAX_EVENT_BYTES}-byte limit for an OSS trigger event`);
    }
    const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
    try {
      return JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (error) {
      throw new EventParseError(`the event is not valid JSON: ${(error as Error).message}`);
    }
  }
  return raw;
}

function parseRecord(candidate: unknown, index: number): ParsedRecord {
  const result = ossRecordSchema.safeParse(candidate, { reportInput: true });
  if (result.success) return { ok: true, index, record: result.data };
  return {
    ok: false,
    index,
    message: `event record ${index}: ${describeIssues(result.error.issues, `events[${index}]`)}`,
    bucket: pick(candidate, ['oss', 'bucket', 'name']),
    key: pick(candidate, ['oss', 'object', 'key']),
    eventName: pick(candidate, ['eventName']),
  };
}

function pick(value: unknown, path: readonly string[]): string | undefined {
  let current = value;
  for (const part of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return typeof current === 'string' ? current : undefined;
}

/** Only events that create a whole object count (docs/contract.md §3); parts and appends are not the layer yet. */
const COUNTED_EVENTS = new Set(['ObjectCreated:PutObject', 'ObjectCreated:PostObject', 'ObjectCreated:CompleteMultipartUpload', 'ObjectCreated:CopyObject']);

export function isCountedEvent(eventName: string): boolean {
  // Trigger configuration spells names with an `oss:` prefix; events do not, but a replay might.
  return COUNTED_EVENTS.has(eventName.replace(/^oss:/, ''));
}
