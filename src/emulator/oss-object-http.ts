import { createHash } from 'node:crypto';
import type { ObjectMeta } from './oss-storage';
import { unquote } from './oss-xml';
import { ServiceError } from './service';

/** Inclusive byte positions, as in `Content-Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

export function md5(bytes: Uint8Array): Buffer {
  return createHash('md5').update(bytes).digest();
}

/** OSS's ETag for a simple upload: the MD5 in upper-case hex, quoted. */
export function quotedEtag(digest: Buffer, suffix = ''): string {
  return `"${digest.toString('hex').toUpperCase()}${suffix}"`;
}

/** A standard Content-MD5 (base64 of the raw digest), when the client sent one, must match the body. */
export function verifyContentMd5Digest(headers: Headers, digest: Buffer): void {
  const sent = headers.get('content-md5');
  if (sent === null) return;
  if (sent !== digest.toString('base64')) {
    throw new ServiceError(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
  }
}

/** `x-oss-forbid-overwrite`: only "true" and "false" are valid (docs/reference/alibaba-cloud.md §6.3). */
export function forbidsOverwrite(headers: Headers): boolean {
  const value = headers.get('x-oss-forbid-overwrite');
  if (value === null || value === 'false') return false;
  if (value === 'true') return true;
  throw new ServiceError(400, 'InvalidArgument', 'x-oss-forbid-overwrite must be true or false.', { ArgumentName: 'x-oss-forbid-overwrite' });
}

/** PutObject has no conditional form in OSS: If-Match / If-None-Match are refused (docs/reference/alibaba-cloud.md §6.3). */
export function rejectConditionalWrite(headers: Headers): void {
  if (headers.has('if-match') || headers.has('if-none-match')) {
    throw new ServiceError(400, 'NotImplemented', 'A header you provided implies functionality that is not implemented.', { Header: 'If-Match' });
  }
}

/** How a conditional GET/HEAD ends before any byte is sent: 412 thrown, 304 returned as 'not-modified'. */
export function evaluatePreconditions(headers: Headers, etag: string): 'proceed' | 'not-modified' {
  const ifMatch = headers.get('if-match');
  if (ifMatch !== null && !etagListMatches(ifMatch, etag)) {
    throw new ServiceError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.', { Condition: 'If-Match' });
  }
  const ifNoneMatch = headers.get('if-none-match');
  return ifNoneMatch !== null && etagListMatches(ifNoneMatch, etag) ? 'not-modified' : 'proceed';
}

/** Quotes are optional on the wire; the hex itself compares exactly, as OSS stores it. */
function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((candidate) => candidate.trim() === '*' || unquote(candidate.trim()) === unquote(etag));
}

/**
 * The range a GET serves, or undefined for the whole object. OSS ignores a range it cannot serve
 * (200, whole object) unless `x-oss-range-behavior: standard`, which clips the end and answers 416
 * for a start past the end (docs/reference/alibaba-cloud.md §6.4). Only the first of several ranges is used.
 */
export function resolveRange(headers: Headers, size: number): ByteRange | undefined {
  const match = /^bytes=(\d*)-(\d*)(,.*)?$/.exec(headers.get('range')?.trim() ?? '');
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  const standard = headers.get('x-oss-range-behavior') === 'standard';

  const suffixLength = first === '' ? Number(last) : undefined;
  if (suffixLength !== undefined) {
    if (suffixLength === 0 || (suffixLength > size && !standard)) return undefined;
    if (size === 0) return unsatisfiable(size);
    return { start: Math.max(0, size - suffixLength), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Number(last);
  if (start > end && last !== '') return undefined;
  if (start >= size) return standard ? unsatisfiable(size) : undefined;
  if (end >= size) return standard ? { start, end: size - 1 } : undefined;
  return { start, end };
}

function unsatisfiable(size: number): never {
  throw new ServiceError(416, 'InvalidRange', 'The requested range cannot be satisfied.', { ActualObjectSize: String(size) });
}

/** Standard headers a write may set that OSS keeps with the object and sends back on GET and HEAD. */
const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];
const USER_META_PREFIX = 'x-oss-meta-';
/**
 * OSS's limit on the user metadata of one object (names and values together). OSS's error code for
 * going over it is UNVERIFIED; InvalidArgument names the header.
 */
const MAX_USER_META_BYTES = 8 * 1024;

/** The metadata a PUT, Initiate, Append or a REPLACE copy stores: `x-oss-meta-*` and the standard headers. */
export function metadataOf(headers: Headers): Record<string, string> {
  const metadata: Record<string, string> = {};
  let userBytes = 0;
  headers.forEach((value, name) => {
    if (name.startsWith(USER_META_PREFIX)) userBytes += Buffer.byteLength(name) - USER_META_PREFIX.length + Buffer.byteLength(value);
    if (name.startsWith(USER_META_PREFIX) || STORED_HEADERS.includes(name)) metadata[name] = value;
  });
  if (userBytes > MAX_USER_META_BYTES) {
    throw new ServiceError(400, 'InvalidArgument', `The user metadata (x-oss-meta-*) is ${userBytes} bytes; OSS allows at most ${MAX_USER_META_BYTES}.`, {
      ArgumentName: 'x-oss-meta-*',
    });
  }
  return metadata;
}

/** GET query parameters that replace a header of the answer, and the header each replaces. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

export function applyResponseOverrides(headers: Headers, query: URLSearchParams): void {
  for (const [parameter, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = query.get(parameter);
    if (value !== null) headers.set(header, value);
  }
}

/** The headers OSS puts on GET and HEAD answers for an object. */
export function objectHeaders(meta: ObjectMeta): Headers {
  const headers = new Headers({
    ...meta.metadata,
    'accept-ranges': 'bytes',
    'content-type': meta.contentType,
    etag: meta.etag,
    'last-modified': meta.lastModified.toUTCString(),
    'x-oss-object-type': meta.objectType,
    'x-oss-storage-class': 'Standard',
  });
  if (meta.crc64 !== undefined) headers.set('x-oss-hash-crc64ecma', meta.crc64);
  return headers;
}

/**
 * A body that reads the next piece only when the consumer asks for it, so backpressure reaches the
 * store; `release` runs once the body is read to the end, fails or is cancelled, read or not.
 */
export function streamOf(pieces: AsyncIterable<Uint8Array>, release: () => Promise<void>): ReadableStream<Uint8Array> {
  const iterator = pieces[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await iterator.next();
        } catch (error) {
          await release();
          throw error;
        }
        if (next.done) {
          controller.close();
          await release();
        } else controller.enqueue(next.value);
      },
      async cancel() {
        try {
          await iterator.return?.();
        } finally {
          await release();
        }
      },
    },
    { highWaterMark: 0 },
  );
}
