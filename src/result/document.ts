import * as z from 'zod/mini';
import { ERROR_CODES } from '../errors';
import type { ObjectStore } from '../oss/store';
import { indexOutcomeSchema } from '../latest/outcome';
import { noticesOutcomeSchema } from '../notify/outcome';

/**
 * `<stem>.result.json` (docs/contract.md §6), the one module that knows its shape: the schema every
 * reader parses it with, the one reader and the one writer. Fields are in the documented order, so
 * the file reads as documented. Readers keep fields they do not know (a newer publisher's).
 */

/**
 * The most a result may be, for every reader of one: a result names every region, a retention list
 * and FC's `layer` body, so it may be well over a manifest's 64 KiB.
 */
export const MAX_RESULT_BYTES = 1024 * 1024;

/**
 * Who put one object of an upload in the bucket, as its OSS event said. Only what OSS puts in the
 * event: an account or RAM principal id, an IP, a request id and a time; never a credential.
 */
export const uploaderSchema = z.object({
  principalId: z.optional(z.string()),
  sourceIp: z.optional(z.string()),
  ossRequestId: z.optional(z.string()),
  eventTime: z.optional(z.string()),
});
export type Uploader = z.infer<typeof uploaderSchema>;

const provenanceSchema = z.object({
  zip: z.optional(uploaderSchema),
  manifest: z.optional(uploaderSchema),
  /** The function invocation that handled the event. */
  functionRequestId: z.string(),
  /** FC's request id of the CreateLayerVersion call, when this invocation made the version. */
  fcRequestId: z.optional(z.string()),
});
/** `provenance` of a result and its audit record (read back by src/report/trail.ts). */
export type Provenance = z.infer<typeof provenanceSchema>;

/** `acl`: what the manifest asked for, and whether FC took it (why not, if it did not). */
const aclSchema = z.object({
  public: z.boolean(),
  applied: z.boolean(),
  error: z.optional(z.string()),
  fcRequestId: z.optional(z.string()),
});
export type AclOutcome = z.infer<typeof aclSchema>;

/** `retention`: what was done to the layer's older versions, and what stopped it. */
export const retentionSchema = z.object({
  keep: z.number(),
  dryRun: z.optional(z.literal(true)),
  /** Older versions kept because a function names them. */
  kept: z.array(z.number()),
  /** Versions deleted (or, in a dry run, those that would be). */
  deleted: z.array(z.number()),
  failed: z.array(z.object({ version: z.number(), error: z.string() })),
  /** Why retention stopped before deciding (a listing refused or throttled, no time left). */
  error: z.optional(z.string()),
});
export type RetentionOutcome = z.infer<typeof retentionSchema>;

/** `contents`: what is inside the version, from the read that verified its zip (docs/contents.md). */
const contentsSchema = z.object({
  files: z.number(),
  unpackedBytes: z.number(),
  /** The zip's top-level folders (the first 20). */
  topLevel: z.array(z.string()),
  packages: z.object({ npm: z.number(), pypi: z.number(), maven: z.number() }),
  /** Package files not read: over the size cap, or not the JSON or headers they should be. */
  skipped: z.number(),
  /** The key of the CycloneDX document, once it is in the bucket. */
  sbom: z.optional(z.string()),
});
export type ContentsSummary = z.infer<typeof contentsSchema>;

const errorSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string(), retryable: z.boolean() });

/** One region's entry in `regions`: the home region's repeats the top-level fields. */
export const regionEntrySchema = z.looseObject({
  status: z.enum(['published', 'unchanged', 'failed']),
  home: z.optional(z.literal(true)),
  version: z.optional(z.number()),
  arn: z.optional(z.string()),
  /** FC's codeChecksum: equal to `source.crc64` in every region that holds the layer. */
  codeChecksum: z.optional(z.string()),
  /** The verified copy FC built this region's version from (not for the home region). */
  staged: z.optional(z.object({ bucket: z.string(), key: z.string(), reused: z.boolean() })),
  acl: z.optional(aclSchema),
  retention: z.optional(retentionSchema),
  error: z.optional(errorSchema),
});
export type RegionResult = z.infer<typeof regionEntrySchema>;

/** `waiting`: the key of the object not there yet, since when (the Last-Modified of the one that is), and a near miss. */
const waitingSchema = z.object({
  missing: z.string(),
  since: z.string(),
  nearMiss: z.optional(z.object({ key: z.string(), fix: z.string() })),
});
export type Waiting = z.infer<typeof waitingSchema>;

const sourceSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  etag: z.optional(z.string()),
  size: z.optional(z.number()),
  crc64: z.optional(z.string()),
});
export type SourceInfo = z.infer<typeof sourceSchema>;

export const RESULT_STATUSES = ['published', 'unchanged', 'waiting', 'failed'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

export const resultSchema = z.looseObject({
  status: z.enum(RESULT_STATUSES),
  layerName: z.optional(z.string()),
  version: z.optional(z.number()),
  arn: z.optional(z.string()),
  source: sourceSchema,
  manifest: z.optional(z.object({ key: z.string(), etag: z.optional(z.string()), license: z.optional(z.string()) })),
  /** FC's response body, as returned. */
  layer: z.optional(z.record(z.string(), z.unknown())),
  error: z.optional(errorSchema),
  waiting: z.optional(waitingSchema),
  /** The manifest's `public` as PutLayerACL took it (or refused it). */
  acl: z.optional(aclSchema),
  /** What is inside the version (published or unchanged). */
  contents: z.optional(contentsSchema),
  /** Added once older versions were dealt with, after the result was first written. */
  retention: z.optional(retentionSchema),
  /** With `REGIONS`: every region this upload goes to, the home region included. */
  regions: z.optional(z.record(z.string(), regionEntrySchema)),
  /** Added after the result is written: the latest-version index (docs/index-and-notices.md). */
  index: z.optional(indexOutcomeSchema),
  /** Added after the result is written: the notice sent about this decision. */
  notices: z.optional(noticesOutcomeSchema),
  event: z.object({ name: z.string(), time: z.optional(z.string()), requestId: z.optional(z.string()), key: z.string() }),
  provenance: z.optional(provenanceSchema),
  requestId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
});
export type PublishResult = z.infer<typeof resultSchema>;

/**
 * The result at `key`: undefined when there is none, `'unreadable'` when what is there is over
 * MAX_RESULT_BYTES, not JSON or not a result (someone else's object: never taken for ours).
 */
export async function readResult(store: ObjectStore, key: string): Promise<PublishResult | 'unreadable' | undefined> {
  const read = await store.read(key, MAX_RESULT_BYTES);
  if (read === undefined) return undefined;
  if ('tooLarge' in read) return 'unreadable';
  let body: unknown;
  try {
    body = JSON.parse(read.body.toString('utf8'));
  } catch {
    return 'unreadable';
  }
  const parsed = resultSchema.safeParse(body);
  return parsed.success ? parsed.data : 'unreadable';
}

/** Writes the result at `key`; with `forbidOverwrite`, only where there is none (`'exists'` otherwise). */
export function writeResultDocument(
  store: ObjectStore,
  key: string,
  result: PublishResult,
  options: { forbidOverwrite?: boolean } = {},
): Promise<'created' | 'exists'> {
  return store.put(key, `${JSON.stringify(result, null, 2)}\n`, { contentType: 'application/json', ...options });
}
