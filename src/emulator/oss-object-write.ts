import { createHash } from 'node:crypto';
import type { ByteRange } from './oss-object-http';
import { evaluatePreconditions, metadataOf, quotedEtag } from './oss-object-http';
import type { ObjectMeta } from './oss-storage';
import { unquote } from './oss-xml';
import { ServiceError } from './service';

/** The metadata a copy gives its target. */
export interface CopyWrite {
  contentType: string;
  metadata: Record<string, string>;
}

/**
 * `x-oss-copy-source: /<bucket>/<url-encoded key>` (ali-oss encodes the `/` of the key too).
 * A `?versionId=` suffix is refused: the emulator keeps no versions.
 */
export function copySource(headers: Headers): { bucket: string; key: string } {
  const value = headers.get('x-oss-copy-source') ?? '';
  const match = /^\/?([^/?]+)\/([^?]+)(\?.*)?$/.exec(value);
  if (match === null) {
    throw new ServiceError(400, 'InvalidArgument', 'x-oss-copy-source must be /<bucket>/<key>.', { ArgumentName: 'x-oss-copy-source', ArgumentValue: value });
  }
  const [, bucket = '', encodedKey = '', suffix] = match;
  if (suffix !== undefined) throw new ServiceError(501, 'NotImplemented', 'The local OSS keeps no object versions: x-oss-copy-source cannot name a versionId.');
  try {
    return { bucket, key: decodeURIComponent(encodedKey) };
  } catch {
    throw new ServiceError(400, 'InvalidArgument', 'x-oss-copy-source is not URL-encoded correctly.', {
      ArgumentName: 'x-oss-copy-source',
      ArgumentValue: value,
    });
  }
}

/** `x-oss-metadata-directive`: COPY (the default) keeps the source's metadata, REPLACE takes the request's. */
export function copyMetadata(headers: Headers, source: ObjectMeta, defaultContentType: string): CopyWrite {
  const directive = headers.get('x-oss-metadata-directive') ?? 'COPY';
  if (directive === 'COPY') return { contentType: source.contentType, metadata: source.metadata };
  if (directive === 'REPLACE') return { contentType: headers.get('content-type') ?? defaultContentType, metadata: metadataOf(headers) };
  throw new ServiceError(400, 'InvalidArgument', `x-oss-metadata-directive must be COPY or REPLACE, not ${directive}.`, {
    ArgumentName: 'x-oss-metadata-directive',
    ArgumentValue: directive,
  });
}

/** `x-oss-copy-source-if-match` / `-if-none-match`, as If-Match and If-None-Match on a GET of the source. */
export function evaluateCopyPreconditions(headers: Headers, source: ObjectMeta): 'proceed' | 'not-modified' {
  const asGet = new Headers();
  const ifMatch = headers.get('x-oss-copy-source-if-match');
  const ifNoneMatch = headers.get('x-oss-copy-source-if-none-match');
  if (ifMatch !== null) asGet.set('if-match', ifMatch);
  if (ifNoneMatch !== null) asGet.set('if-none-match', ifNoneMatch);
  try {
    return evaluatePreconditions(asGet, source.etag);
  } catch (error) {
    if (error instanceof ServiceError) throw new ServiceError(error.status, error.code, error.message, { Condition: 'x-oss-copy-source-if-match' });
    throw error;
  }
}

/** UploadPartCopy's `x-oss-copy-source-range: bytes=<first>-<last>`; the whole source without it. */
export function copySourceRange(headers: Headers, size: number): ByteRange {
  const value = headers.get('x-oss-copy-source-range');
  if (value === null) return { start: 0, end: size - 1 };
  const match = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  if (match === null || start > end || end >= size) {
    throw new ServiceError(400, 'InvalidArgument', `x-oss-copy-source-range ${value} is not a range inside the ${size}-byte source.`, {
      ArgumentName: 'x-oss-copy-source-range',
    });
  }
  return { start, end };
}

/** AppendObject's `position`: required, a whole number. */
export function appendPosition(query: URLSearchParams): number {
  const value = query.get('position');
  if (value === null || value === '')
    throw new ServiceError(400, 'MissingArgument', 'Missing argument position for AppendObject.', { ArgumentName: 'position' });
  if (!/^\d+$/.test(value))
    throw new ServiceError(400, 'InvalidArgument', `position must be a whole number, not ${value}.`, { ArgumentName: 'position', ArgumentValue: value });
  return Number(value);
}

/**
 * OSS documents that an appendable object's ETag is not the MD5 of its bytes, without saying how it
 * is made (UNVERIFIED): here the first append's is the MD5 of the bytes, and each later one the MD5
 * of the previous ETag and the appended bytes' MD5, so it changes with every append.
 */
export function appendEtag(previous: string | undefined, appendedMd5: Buffer): string {
  if (previous === undefined) return quotedEtag(appendedMd5);
  return quotedEtag(
    createHash('md5')
      .update(Buffer.from(unquote(previous), 'hex'))
      .update(appendedMd5)
      .digest(),
  );
}
