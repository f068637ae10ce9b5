import type { Readable } from 'node:stream';

/** What the publisher needs to know of an object version (docs/contract.md §7: ETag and Last-Modified name it). */
export interface ObjectHead {
  /** As OSS reports it, without quotes; compare with `sameEtag`. */
  etag: string;
  size: number;
  lastModified: string;
  /** `x-oss-hash-crc64ecma`; absent on copied and legacy objects. */
  crc64: string | undefined;
  /**
   * The `Date` of the answer that described it: OSS's clock, which the ledger keeps time by
   * (docs/contract.md §7); absent when the answer had none.
   */
  answeredAt?: string;
}

export interface StreamOptions {
  /** GET with `If-Match`: a replaced object fails with `PreconditionFailedError` instead of mixing versions. */
  ifMatch: string;
  /** Inclusive byte range; the whole object when absent. */
  range?: { start: number; end: number };
}

/**
 * The publisher's view of one OSS bucket: the steps know this interface, the SDK stays behind it.
 * `undefined` means the object does not exist; every other failure is thrown as a PublisherError.
 */
export interface ObjectStore {
  readonly bucket: string;
  head(key: string): Promise<ObjectHead | undefined>;
  /** Reads a small object whole, refusing one over `maxBytes` before buffering it. */
  read(key: string, maxBytes: number): Promise<{ body: Buffer; head: ObjectHead } | ObjectTooLarge | undefined>;
  stream(key: string, options: StreamOptions): Promise<{ body: Readable; head: ObjectHead }>;
  /**
   * The keys directly under `prefix` (one folder: `/` is the delimiter), from one ListObjects of at
   * most `maxKeys`: a bounded look, never a walk of the bucket.
   */
  list(prefix: string, maxKeys: number): Promise<string[]>;
  /** With `forbidOverwrite`, resolves `'exists'` instead of replacing an object already there. */
  put(key: string, body: string | Buffer, options: { contentType: string; forbidOverwrite?: boolean }): Promise<'created' | 'exists'>;
  /** PUTs `size` bytes read from `body` as they come, never holding them all. */
  putStream(key: string, body: Readable, options: { contentType: string; size: number }): Promise<WrittenObject>;
  /** InitiateMultipartUpload; resolves the upload id. */
  createMultipartUpload(key: string, options: { contentType: string }): Promise<string>;
  /** UploadPart of `size` bytes streamed from `body`. */
  uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number): Promise<WrittenPart>;
  completeMultipartUpload(key: string, uploadId: string, parts: readonly WrittenPart[]): Promise<WrittenObject>;
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
}

/** What OSS answered for a write: ETag without quotes, and the CRC-64 of the bytes it stored (when it says). */
export interface WrittenObject {
  etag: string;
  crc64: string | undefined;
}

export interface WrittenPart extends WrittenObject {
  partNumber: number;
  size: number;
}

export interface ObjectTooLarge {
  tooLarge: true;
  size: number;
}

export function unquote(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** ETags compare without quotes and case (docs/contract.md §5 step 3). */
export function normalizeEtag(etag: string): string {
  return unquote(etag).toUpperCase();
}

export function sameEtag(a: string, b: string): boolean {
  return normalizeEtag(a) === normalizeEtag(b);
}
