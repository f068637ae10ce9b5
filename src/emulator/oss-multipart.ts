import { randomBytes } from 'node:crypto';
import { crc64Combine } from '../checksum/combine';
import { md5, quotedEtag, verifyContentMd5Digest } from './oss-object-http';
import type { PartRecord, UploadRecord, UploadStore } from './oss-storage';
import { type CompletedPart, element, parseCompleteMultipartUpload, xmlDocument } from './oss-xml';
import { ServiceError } from './service';

/** OSS's smallest part size, for every part but the last. */
export const MIN_PART_BYTES = 100 * 1024;
const MAX_PART_NUMBER = 10_000;
const MAX_LISTED = 1000;

/** What CompleteMultipartUpload turns into an object: the parts in order and the digests OSS gives it. */
export interface CompletedUpload {
  upload: UploadRecord;
  parts: PartRecord[];
  size: number;
  /** `"<MD5 of the concatenated part MD5s>-<part count>"`, the shape of every multipart ETag. */
  etag: string;
  /** The parts' CRCs combined: OSS never reads the object again to compute it. */
  crc64: string;
}

/** Multipart uploads in progress; the parts live in the backend's `UploadStore`, never here. */
export class MultipartUploads {
  constructor(
    private readonly store: UploadStore,
    private readonly now: () => Date,
  ) {}

  async initiate(bucket: string, key: string, contentType: string, metadata: Record<string, string>): Promise<string> {
    const uploadId = randomBytes(16).toString('hex').toUpperCase();
    await this.store.create({ uploadId, bucket, key, initiated: wholeSeconds(this.now()), contentType, metadata });
    return uploadId;
  }

  /** Stores one part from `body`; a Content-MD5 that does not match refuses it. */
  async uploadPart(bucket: string, key: string, query: URLSearchParams, headers: Headers, body: AsyncIterable<Uint8Array>): Promise<PartRecord> {
    const upload = await this.find(bucket, key, query.get('uploadId'));
    const partNumber = partNumberOf(query);
    return this.store.putPart(upload.uploadId, partNumber, body, (written) => {
      verifyContentMd5Digest(headers, written.md5);
      return { partNumber, size: written.size, md5: written.md5.toString('hex').toUpperCase(), crc64: written.crc64, lastModified: wholeSeconds(this.now()) };
    });
  }

  /** Checks the client's part list as OSS does; the caller assembles the object from `parts`. */
  async complete(bucket: string, key: string, query: URLSearchParams, headers: Headers, body: Uint8Array): Promise<CompletedUpload> {
    const upload = await this.find(bucket, key, query.get('uploadId'));
    verifyContentMd5Digest(headers, md5(body));
    const listed = parseCompleteMultipartUpload(new TextDecoder().decode(body));
    const uploaded = new Map((await this.store.parts(upload.uploadId)).map((part) => [part.partNumber, part]));
    const parts = listed.map((part, index) => checkedPart(uploaded, part, index, listed));
    return {
      upload,
      parts,
      size: parts.reduce((sum, part) => sum + part.size, 0),
      etag: quotedEtag(md5(Buffer.concat(parts.map((part) => Buffer.from(part.md5, 'hex')))), `-${parts.length}`),
      crc64: parts.reduce((crc, part) => crc64Combine(crc, part.crc64, part.size), '0'),
    };
  }

  /** The bytes of the completed object, part after part, read as they are asked for. */
  async *read({ upload, parts }: CompletedUpload): AsyncIterable<Uint8Array> {
    for (const part of parts) yield* this.store.readPart(upload.uploadId, part.partNumber);
  }

  /** Removes a completed or aborted upload with its parts. */
  forget(uploadId: string): Promise<void> {
    return this.store.delete(uploadId);
  }

  async abort(bucket: string, key: string, uploadId: string | null): Promise<void> {
    const upload = await this.find(bucket, key, uploadId);
    await this.store.delete(upload.uploadId);
  }

  async find(bucket: string, key: string, uploadId: string | null): Promise<UploadRecord> {
    const upload = uploadId === null ? undefined : await this.store.get(uploadId);
    if (upload === undefined || upload.bucket !== bucket || upload.key !== key) {
      throw new ServiceError(
        404,
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        {
          UploadId: uploadId ?? '',
        },
      );
    }
    return upload;
  }

  /** ListParts: `max-parts` (default 1000) parts after `part-number-marker`. */
  async listPartsXml(bucket: string, key: string, query: URLSearchParams): Promise<string> {
    const upload = await this.find(bucket, key, query.get('uploadId'));
    const maxParts = boundedInteger(query, 'max-parts');
    const marker = Number(query.get('part-number-marker') ?? '0');
    const after = (await this.store.parts(upload.uploadId)).filter((part) => part.partNumber > marker);
    const page = after.slice(0, maxParts);
    const truncated = after.length > page.length;
    return xmlDocument('ListPartsResult', [
      element('Bucket', bucket),
      element('Key', key),
      element('UploadId', upload.uploadId),
      element('PartNumberMarker', marker),
      element('NextPartNumberMarker', page.at(-1)?.partNumber ?? marker),
      element('MaxParts', maxParts),
      element('IsTruncated', truncated),
      ...page.map((part) =>
        element('Part', [
          element('PartNumber', part.partNumber),
          element('LastModified', part.lastModified.toISOString()),
          element('ETag', quotedEtag(Buffer.from(part.md5, 'hex'))),
          element('HashCrc64ecma', part.crc64),
          element('Size', part.size),
        ]),
      ),
    ]);
  }

  /** ListMultipartUploads: by key, then by initiation, after `key-marker`/`upload-id-marker`. */
  async listUploadsXml(bucket: string, query: URLSearchParams): Promise<string> {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const keyMarker = query.get('key-marker') ?? '';
    const uploadIdMarker = query.get('upload-id-marker') ?? '';
    const maxUploads = boundedInteger(query, 'max-uploads');
    const all = (await this.store.list(bucket))
      .filter((upload) => upload.key.startsWith(prefix))
      .sort(
        (a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) || a.initiated.getTime() - b.initiated.getTime() || (a.uploadId < b.uploadId ? -1 : 1),
      );
    // After the markers: keys past key-marker, and that key's own uploads past upload-id-marker when one is given.
    const pastMarkers = (upload: UploadRecord): boolean =>
      keyMarker === '' || upload.key > keyMarker || (upload.key === keyMarker && uploadIdMarker !== '' && upload.uploadId > uploadIdMarker);
    const uploads: UploadRecord[] = [];
    const prefixes: string[] = [];
    let truncated = false;
    let last: UploadRecord | undefined;
    for (const upload of all.filter(pastMarkers)) {
      const at = delimiter === '' ? -1 : upload.key.indexOf(delimiter, prefix.length);
      const commonPrefix = at === -1 ? undefined : upload.key.slice(0, at + delimiter.length);
      if (commonPrefix !== undefined && prefixes.includes(commonPrefix)) continue;
      if (uploads.length + prefixes.length === maxUploads) {
        truncated = true;
        break;
      }
      if (commonPrefix === undefined) uploads.push(upload);
      else prefixes.push(commonPrefix);
      last = upload;
    }
    return xmlDocument('ListMultipartUploadsResult', [
      element('Bucket', bucket),
      element('KeyMarker', keyMarker),
      element('UploadIdMarker', uploadIdMarker),
      element('NextKeyMarker', truncated ? (last?.key ?? '') : ''),
      element('NextUploadIdMarker', truncated ? (last?.uploadId ?? '') : ''),
      element('Delimiter', delimiter),
      element('Prefix', prefix),
      element('MaxUploads', maxUploads),
      element('IsTruncated', truncated),
      ...uploads.map((upload) =>
        element('Upload', [element('Key', upload.key), element('UploadId', upload.uploadId), element('Initiated', upload.initiated.toISOString())]),
      ),
      ...prefixes.map((commonPrefix) => element('CommonPrefixes', [element('Prefix', commonPrefix)])),
    ]);
  }
}

function partNumberOf(query: URLSearchParams): number {
  const partNumber = Number(query.get('partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new ServiceError(400, 'InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}.`, { ArgumentName: 'partNumber' });
  }
  return partNumber;
}

function checkedPart(uploaded: ReadonlyMap<number, PartRecord>, part: CompletedPart, index: number, listed: readonly CompletedPart[]): PartRecord {
  const previous = listed[index - 1];
  if (previous !== undefined && part.partNumber <= previous.partNumber) {
    throw new ServiceError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
  }
  const found = uploaded.get(part.partNumber);
  if (found === undefined || found.md5 !== part.etag) {
    throw new ServiceError(
      400,
      'InvalidPart',
      "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
      {
        PartNumber: String(part.partNumber),
        ETag: part.etag,
      },
    );
  }
  if (index < listed.length - 1 && found.size < MIN_PART_BYTES) {
    throw new ServiceError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size.', {
      PartNumber: String(part.partNumber),
      MinSizeAllowed: String(MIN_PART_BYTES),
    });
  }
  return found;
}

function boundedInteger(query: URLSearchParams, name: string): number {
  const value = Number(query.get(name) ?? String(MAX_LISTED));
  if (!Number.isInteger(value) || value < 1 || value > MAX_LISTED) {
    throw new ServiceError(400, 'InvalidArgument', `${name} must be an integer from 1 to ${MAX_LISTED}.`, { ArgumentName: name });
  }
  return value;
}

/** Whole seconds, as OSS's dates carry them. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
