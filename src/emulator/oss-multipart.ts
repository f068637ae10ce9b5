import { randomBytes } from 'node:crypto';
import { Crc64 } from '../checksum/crc64';
import { md5, quotedEtag, verifyContentMd5 } from './oss-object-http';
import { type CompletedPart, parseCompleteMultipartUpload, unquote } from './oss-xml';
import { ServiceError } from './service';

/** OSS's smallest part size, for every part but the last. */
export const MIN_PART_BYTES = 100 * 1024;
const MAX_PART_NUMBER = 10_000;

interface UploadedPart {
  bytes: Uint8Array;
  digest: Buffer;
}

interface Upload {
  bucket: string;
  key: string;
  contentType: string;
  parts: Map<number, UploadedPart>;
}

export interface UploadedPartResult {
  etag: string;
  crc64: string;
  contentMd5: string;
}

export interface AssembledObject {
  bytes: Uint8Array;
  etag: string;
  contentType: string;
}

/** Multipart uploads in progress: parts wait here until Complete assembles them into an object. */
export class MultipartUploads {
  private readonly uploads = new Map<string, Upload>();

  initiate(bucket: string, key: string, contentType: string): string {
    const uploadId = randomBytes(16).toString('hex').toUpperCase();
    this.uploads.set(uploadId, { bucket, key, contentType, parts: new Map() });
    return uploadId;
  }

  uploadPart(bucket: string, key: string, query: URLSearchParams, headers: Headers, bytes: Uint8Array): UploadedPartResult {
    const upload = this.find(bucket, key, query.get('uploadId'));
    const partNumber = Number(query.get('partNumber'));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new ServiceError(400, 'InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}.`, { ArgumentName: 'partNumber' });
    }
    verifyContentMd5(headers, bytes);
    const digest = md5(bytes);
    upload.parts.set(partNumber, { bytes, digest });
    return { etag: quotedEtag(digest), crc64: new Crc64().update(bytes).digest(), contentMd5: digest.toString('base64') };
  }

  /** Checks the client's part list as OSS does, then hands back the object; the upload is gone after. */
  complete(bucket: string, key: string, query: URLSearchParams, headers: Headers, body: Uint8Array): AssembledObject {
    const uploadId = query.get('uploadId');
    const upload = this.find(bucket, key, uploadId);
    verifyContentMd5(headers, body);
    const listed = parseCompleteMultipartUpload(new TextDecoder().decode(body));
    const parts = listed.map((part, index) => this.checkedPart(upload, part, index, listed));
    this.uploads.delete(uploadId ?? '');
    const combinedDigest = md5(Buffer.concat(parts.map((part) => part.digest)));
    return {
      bytes: Buffer.concat(parts.map((part) => part.bytes)),
      // "<MD5 of the concatenated part MD5s>-<part count>", the shape of every multipart ETag.
      etag: quotedEtag(combinedDigest, `-${parts.length}`),
      contentType: upload.contentType,
    };
  }

  abort(bucket: string, key: string, uploadId: string | null): void {
    this.find(bucket, key, uploadId);
    this.uploads.delete(uploadId ?? '');
  }

  private find(bucket: string, key: string, uploadId: string | null): Upload {
    const upload = this.uploads.get(uploadId ?? '');
    if (upload === undefined || upload.bucket !== bucket || upload.key !== key) {
      throw new ServiceError(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
        UploadId: uploadId ?? '',
      });
    }
    return upload;
  }

  private checkedPart(upload: Upload, part: CompletedPart, index: number, listed: readonly CompletedPart[]): UploadedPart {
    const previous = listed[index - 1];
    if (previous !== undefined && part.partNumber <= previous.partNumber) {
      throw new ServiceError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
    }
    const uploaded = upload.parts.get(part.partNumber);
    if (uploaded === undefined || unquote(quotedEtag(uploaded.digest)) !== part.etag) {
      throw new ServiceError(400, 'InvalidPart', 'One or more of the specified parts could not be found or the specified entity tag might not have matched the part\'s entity tag.', {
        PartNumber: String(part.partNumber),
      });
    }
    const isLast = index === listed.length - 1;
    if (!isLast && uploaded.bytes.byteLength < MIN_PART_BYTES) {
      throw new ServiceError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size.', {
        PartNumber: String(part.partNumber),
      });
    }
    return uploaded;
  }
}
