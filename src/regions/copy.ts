import type { Readable } from 'node:stream';
import { stagedKey } from '../audit/layout';
import { crc64Combine } from '../checksum/combine';
import { PreconditionFailedError, type PublisherError, TransientError } from '../errors';
import type { ObjectHead, ObjectStore, WrittenObject, WrittenPart } from '../oss/store';
import type { ZipReader } from './spool';

/** The zip as the home region verified it: the version read (ETag for If-Match, size) and its CRC-64. */
export interface CopySource {
  /** The home bucket, or the zip spooled as it was verified (spool.ts). */
  store: ZipReader;
  key: string;
  head: ObjectHead;
  crc64: string;
}

/** A region's staging bucket, reached through its own endpoint. */
export interface CopyTarget {
  region: string;
  store: ObjectStore;
}

export interface CopyOptions {
  /** The upload's ledger id (src/audit/ledger.ts `uploadIdOf`): names the staged object. */
  uploadId: string;
  auditPrefix: string;
  /** Zips of this size and above go in parts; smaller ones in one PUT. */
  multipartFromBytes?: number;
  partBytes?: number;
  /** Parts in flight at once, each a ranged GET streamed into an UploadPart. */
  concurrency?: number;
  /**
   * Wraps each PUT and each part, so a transient failure retries that piece only. The publisher
   * passes `withRetry` bounded by its deadline; the default tries three times, a moment apart.
   */
  retry?: Retry;
}

export type Retry = <T>(operation: () => Promise<T>) => Promise<T>;

export interface StagedCopy {
  region: string;
  bucket: string;
  key: string;
  size: number;
  /** The target's `x-oss-hash-crc64ecma`, equal to the source's verified CRC-64. */
  crc64: string;
  /** True when an earlier attempt had left this exact copy, so no byte was sent. */
  reused: boolean;
  /** 0 for a single PUT (or a reused copy). */
  parts: number;
}

/** Each part holds a socket and its buffers, not its bytes: memory stays flat whatever the part size. */
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MULTIPART_FROM_BYTES = 16 * 1024 * 1024;
export const DEFAULT_COPY_CONCURRENCY = 4;
/** OSS's limits: at most 10,000 parts, each but the last at least 100 KiB. */
const MAX_PARTS = 10_000;
const MIN_PART_BYTES = 100 * 1024;
const STAGED_CONTENT_TYPE = 'application/zip';

/** The target's CRC-64 is not the one verified at home: the copy does not count. Retrying may pass. */
export class StagedCopyMismatchError extends TransientError {
  constructor(message: string, context: Record<string, unknown>) {
    super(message, { context });
    this.name = 'StagedCopyMismatchError';
  }
}

/**
 * Streams the verified zip into the target region's staging bucket, and resolves only once the
 * target reports the CRC-64 verified at home. A copy an earlier attempt completed is reused.
 */
export async function copyToRegion(source: CopySource, target: CopyTarget, options: CopyOptions): Promise<StagedCopy> {
  const key = stagedKey(options.auditPrefix, options.uploadId, source.key);
  const size = source.head.size;
  const staged = { region: target.region, bucket: target.store.bucket, key, size, crc64: source.crc64 };
  const existing = await target.store.head(key);
  // A stage with other bytes (a PUT whose check failed) is replaced: it never counted, and holds no evidence.
  if (existing !== undefined && existing.size === size && existing.crc64 === source.crc64) {
    return { ...staged, reused: true, parts: 0 };
  }
  const retry = options.retry ?? retryBriefly;
  const multipartFrom = options.multipartFromBytes ?? DEFAULT_MULTIPART_FROM_BYTES;
  let written: WrittenObject;
  let parts = 0;
  if (size < multipartFrom) {
    written = await retry(() => pipeSource(source, target, undefined, (body) => target.store.putStream(key, body, { contentType: STAGED_CONTENT_TYPE, size })));
  } else {
    const ranges = partRanges(size, options.partBytes ?? DEFAULT_PART_BYTES);
    parts = ranges.length;
    written = await uploadInParts(source, target, key, ranges, options.concurrency ?? DEFAULT_COPY_CONCURRENCY, retry);
  }
  const crc64 = written.crc64 ?? (await target.store.head(key))?.crc64;
  if (crc64 !== source.crc64) throw mismatch(source, target, key, crc64);
  return { ...staged, reused: false, parts };
}

interface Range {
  start: number;
  end: number;
}

function partRanges(size: number, requestedPartBytes: number): Range[] {
  const partBytes = Math.max(MIN_PART_BYTES, requestedPartBytes, Math.ceil(size / MAX_PARTS));
  const ranges: Range[] = [];
  for (let start = 0; start < size; start += partBytes) ranges.push({ start, end: Math.min(size, start + partBytes) - 1 });
  return ranges;
}

async function uploadInParts(
  source: CopySource,
  target: CopyTarget,
  key: string,
  ranges: readonly Range[],
  concurrency: number,
  retry: Retry,
): Promise<WrittenObject> {
  const uploadId = await retry(() => target.store.createMultipartUpload(key, { contentType: STAGED_CONTENT_TYPE }));
  try {
    const parts = await inParallel(ranges, concurrency, (range, index) =>
      retry(() => pipeSource(source, target, range, (body) => target.store.uploadPart(key, uploadId, index + 1, body, range.end - range.start + 1))),
    );
    // OSS reports each part's CRC: a corrupt part is caught before Complete makes an object of it.
    const combined = combinedCrc(parts);
    if (combined !== undefined && combined !== source.crc64) throw mismatch(source, target, key, combined);
    return await retry(() => target.store.completeMultipartUpload(key, uploadId, parts)).catch(async (error: unknown) => {
      // A Complete whose answer was lost is retried into NoSuchUpload: the object then says if it happened.
      const head = await target.store.head(key);
      if (head?.crc64 === undefined || head.size !== source.head.size) throw error;
      return { etag: head.etag, crc64: head.crc64 };
    });
  } catch (error) {
    // Parts left behind are billed until the bucket's lifecycle rule removes them.
    await target.store.abortMultipartUpload(key, uploadId).catch(() => undefined);
    throw error;
  }
}

/**
 * Parts in flight take seconds on a slow link, longer than a server keeps an idle keep-alive socket:
 * the next request on it may meet a hang-up, which a second try on a fresh socket passes.
 */
const retryBriefly: Retry = async (operation) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof TransientError) || error instanceof StagedCopyMismatchError || attempt === 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200 * attempt));
    }
  }
};

function combinedCrc(parts: readonly WrittenPart[]): string | undefined {
  let crc = '0';
  for (const part of parts) {
    if (part.crc64 === undefined) return undefined;
    crc = crc64Combine(crc, part.crc64, part.size);
  }
  return crc;
}

/**
 * GETs the source (the whole zip, or one range) with If-Match and hands the body to `write`. A
 * broken read surfaces in the write as the target's failure; it is reported as the source's.
 */
async function pipeSource<T>(source: CopySource, target: CopyTarget, range: Range | undefined, write: (body: Readable) => Promise<T>): Promise<T> {
  let body: Readable;
  try {
    ({ body } = await source.store.stream(source.key, { ifMatch: source.head.etag, ...(range ? { range } : {}) }));
  } catch (error) {
    // A replaced zip (PreconditionFailedError) is not a broken read: the caller treats it as stale.
    throw error instanceof TransientError ? sourceBroke(source, target, range, error) : error;
  }
  let readError: Error | undefined;
  body.once('error', (error: Error) => {
    readError = error;
  });
  try {
    return await write(body);
  } catch (error) {
    if (readError === undefined) throw error;
    // The spool reads what the verification never read from OSS mid-stream (spool.ts), with the same
    // If-Match: a zip replaced since then fails the body, and no retry can read the old version.
    throw readError instanceof PreconditionFailedError ? readError : sourceBroke(source, target, range, readError);
  } finally {
    body.destroy();
  }
}

function sourceBroke(source: CopySource, target: CopyTarget, range: Range | undefined, cause: Error): TransientError {
  const bytes = range ? `bytes ${range.start}-${range.end} of ` : '';
  return new TransientError(`reading ${bytes}${source.store.bucket}/${source.key} for the copy to ${target.region} broke: ${cause.message}`, {
    cause,
    context: { bucket: source.store.bucket, key: source.key, region: target.region, operation: 'GetObject' },
  });
}

/** Runs `task` over `items`, at most `limit` at once; after a failure no new task starts. */
async function inParallel<I, O>(items: readonly I[], limit: number, task: (item: I, index: number) => Promise<O>): Promise<O[]> {
  const results: O[] = new Array<O>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
  return results;
}

function mismatch(source: CopySource, target: CopyTarget, key: string, actual: string | undefined): PublisherError {
  return new StagedCopyMismatchError(
    `the copy of ${source.key} to ${target.region} (${target.store.bucket}/${key}) has CRC-64 ${actual ?? '(none reported)'}, ` +
      `not ${source.crc64} as verified in ${source.store.bucket}: it does not count`,
    { region: target.region, bucket: target.store.bucket, key, expected: source.crc64, actual },
  );
}
