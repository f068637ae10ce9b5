import type { ListedObject } from './oss-storage';
import { element, xmlDocument } from './oss-xml';
import { ServiceError } from './service';

interface ListRequest {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  /** Only keys (and common prefixes) sorting after this one are listed. */
  after: string;
  encodeKeys: boolean;
}

interface ListPage {
  contents: ListedObject[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix on the page: where the next page starts. */
  last: string;
}

/** ListObjects (V1) or, with `list-type=2`, ListObjectsV2, as OSS's XML. */
export function listObjectsXml(bucket: string, ownerId: string, objects: readonly ListedObject[], query: URLSearchParams): string {
  return query.get('list-type') === '2' ? listV2(bucket, ownerId, objects, query) : listV1(bucket, ownerId, objects, query);
}

function listV1(bucket: string, ownerId: string, objects: readonly ListedObject[], query: URLSearchParams): string {
  const marker = query.get('marker') ?? '';
  const request = { ...commonParameters(query), after: marker };
  const page = listPage(objects, request);
  return xmlDocument('ListBucketResult', [
    element('Name', bucket),
    element('Prefix', encodeKey(request.prefix, request)),
    element('Marker', encodeKey(marker, request)),
    element('MaxKeys', request.maxKeys),
    element('Delimiter', encodeKey(request.delimiter, request)),
    ...(request.encodeKeys ? [element('EncodingType', 'url')] : []),
    element('IsTruncated', page.truncated),
    ...(page.truncated ? [element('NextMarker', encodeKey(page.last, request))] : []),
    ...pageElements(page, request, ownerId),
  ]);
}

function listV2(bucket: string, ownerId: string, objects: readonly ListedObject[], query: URLSearchParams): string {
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after') ?? '';
  const request = { ...commonParameters(query), after: token === null ? startAfter : decodeToken(token) };
  const page = listPage(objects, request);
  return xmlDocument('ListBucketResult', [
    element('Name', bucket),
    element('Prefix', encodeKey(request.prefix, request)),
    ...(startAfter === '' ? [] : [element('StartAfter', encodeKey(startAfter, request))]),
    ...(token === null ? [] : [element('ContinuationToken', token)]),
    element('MaxKeys', request.maxKeys),
    element('Delimiter', encodeKey(request.delimiter, request)),
    ...(request.encodeKeys ? [element('EncodingType', 'url')] : []),
    element('IsTruncated', page.truncated),
    ...(page.truncated ? [element('NextContinuationToken', encodeToken(page.last))] : []),
    element('KeyCount', page.contents.length + page.commonPrefixes.length),
    ...pageElements(page, request, query.get('fetch-owner') === 'true' ? ownerId : undefined),
  ]);
}

function commonParameters(query: URLSearchParams): Omit<ListRequest, 'after'> {
  const maxKeys = Number(query.get('max-keys') ?? '100');
  if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1000) {
    throw new ServiceError(400, 'InvalidArgument', 'max-keys must be an integer from 1 to 1000.');
  }
  const encodingType = query.get('encoding-type');
  if (encodingType !== null && encodingType !== 'url') {
    throw new ServiceError(400, 'InvalidArgument', 'encoding-type can only be url.');
  }
  return {
    prefix: query.get('prefix') ?? '',
    delimiter: query.get('delimiter') ?? '',
    maxKeys,
    encodeKeys: encodingType === 'url',
  };
}

function listPage(objects: readonly ListedObject[], request: ListRequest): ListPage {
  const page: ListPage = { contents: [], commonPrefixes: [], truncated: false, last: '' };
  for (const object of objects) {
    if (!object.key.startsWith(request.prefix) || compareKeys(object.key, request.after) <= 0) continue;
    const commonPrefix = commonPrefixOf(object.key, request);
    // Keys under a common prefix already returned (on this page or, via the marker, an earlier one) are skipped.
    if (commonPrefix !== undefined && compareKeys(commonPrefix, request.after) <= 0) continue;
    if (commonPrefix !== undefined && commonPrefix === page.last) continue;
    if (page.contents.length + page.commonPrefixes.length === request.maxKeys) {
      page.truncated = true;
      break;
    }
    if (commonPrefix === undefined) page.contents.push(object);
    else page.commonPrefixes.push(commonPrefix);
    page.last = commonPrefix ?? object.key;
  }
  return page;
}

function commonPrefixOf(key: string, { prefix, delimiter }: ListRequest): string | undefined {
  if (delimiter === '') return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at === -1 ? undefined : key.slice(0, at + delimiter.length);
}

function pageElements(page: ListPage, request: ListRequest, ownerId: string | undefined): string[] {
  const contents = page.contents.map((object) =>
    element('Contents', [
      element('Key', encodeKey(object.key, request)),
      element('LastModified', object.lastModified.toISOString()),
      element('ETag', object.etag),
      element('Type', object.objectType),
      element('Size', object.size),
      element('StorageClass', 'Standard'),
      ...(ownerId === undefined ? [] : [element('Owner', [element('ID', ownerId), element('DisplayName', ownerId)])]),
    ]),
  );
  const prefixes = page.commonPrefixes.map((prefix) => element('CommonPrefixes', [element('Prefix', encodeKey(prefix, request))]));
  return [...contents, ...prefixes];
}

/** OSS orders keys by their UTF-8 bytes, not by UTF-16 code units. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function encodeKey(text: string, { encodeKeys }: Pick<ListRequest, 'encodeKeys'>): string {
  return encodeKeys ? encodeURIComponent(text) : text;
}

function encodeToken(lastListed: string): string {
  return Buffer.from(lastListed).toString('base64url');
}

function decodeToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString();
  if (encodeToken(decoded) !== token) throw new ServiceError(400, 'InvalidArgument', 'The continuation token is not valid.');
  return decoded;
}
