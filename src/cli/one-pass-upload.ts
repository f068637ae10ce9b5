import { Readable } from 'node:stream';
import type OSS from 'ali-oss';
import type { OnChunk } from '../zip';
import { ossFailure } from './failures';

/** Zips above this go up in parts; smaller ones in one PUT of the bytes the checks read. */
export const MULTIPART_FROM_BYTES = 16 * 1024 * 1024;
export const PART_BYTES = 8 * 1024 * 1024;
/** Parts sent at once: ali-oss multipartUpload's own default is 5; the checks' reads run beside them. */
const PARALLEL_PARTS = 4;

export interface Uploaded {
  requestId: string | undefined;
  crc64: string | undefined;
}

interface OssResponse {
  res: { headers: unknown };
}

/** ali-oss's part upload from a stream, missing from @types/ali-oss (the public uploadPart reads a file by path). */
interface PartUploader {
  _uploadPart(name: string, uploadId: string, partNo: number, data: { stream: Readable; size: number }): Promise<{ etag: string }>;
}

interface Part {
  bytes: Buffer;
  filled: number;
}

/**
 * The zip's upload fed by the read that checks it (src/cli/check.ts), so `publish` reads the file once:
 * `tap` gets every byte once, at its position, in whatever order the checks read them (the tail first,
 * then runs of entries side by side), and copies it into the part it belongs to; a full part is sent at
 * once, at most PARALLEL_PARTS at a time, the read waiting for a free slot so memory stays bounded (the
 * parts being filled, one or two per run, and the parts being sent) whatever the zip's size. Nothing
 * becomes an object before `complete`; `abort` leaves neither an object nor a pending upload.
 */
export class OnePassUpload {
  private readonly parts = new Map<number, Part>();
  private readonly sent: { number: number; etag: string }[] = [];
  private readonly sending = new Set<Promise<void>>();
  private uploadId: Promise<string> | undefined;
  private failure: unknown;
  private received = 0;
  private uploaded = 0;

  constructor(
    private readonly client: OSS,
    readonly key: string,
    readonly size: number,
    private readonly onProgress: (uploadedBytes: number) => void = () => undefined,
  ) {}

  /** In parts from MULTIPART_FROM_BYTES; below it one part, the whole file, sent by `complete` in one PUT. */
  get multipart(): boolean {
    return this.size >= MULTIPART_FROM_BYTES;
  }

  private partBytes(): number {
    return this.multipart ? PART_BYTES : this.size;
  }

  readonly tap: OnChunk = async (chunk, position) => {
    if (this.failure !== undefined) throw this.failure;
    const partBytes = this.partBytes();
    let offset = 0;
    while (offset < chunk.length) {
      const at = position + offset;
      const number = Math.floor(at / partBytes) + 1;
      const partStart = (number - 1) * partBytes;
      const length = Math.min(partBytes, this.size - partStart);
      let part = this.parts.get(number);
      if (part === undefined) {
        part = { bytes: Buffer.allocUnsafe(length), filled: 0 };
        this.parts.set(number, part);
      }
      const take = Math.min(chunk.length - offset, partStart + length - at);
      part.bytes.set(chunk.subarray(offset, offset + take), at - partStart);
      part.filled += take;
      offset += take;
      this.received += take;
      if (part.filled === length && this.multipart) {
        this.parts.delete(number);
        await this.send(number, part.bytes);
      }
    }
  };

  /** Sends one full part once a slot is free; a failure stops the read at its next chunk. */
  private async send(number: number, bytes: Buffer): Promise<void> {
    while (this.sending.size >= PARALLEL_PARTS) await Promise.race(this.sending);
    if (this.failure !== undefined) throw this.failure;
    const uploadId = await this.start();
    const sending: Promise<void> = (this.client as unknown as PartUploader)
      ._uploadPart(this.key, uploadId, number, { stream: Readable.from([bytes]), size: bytes.length })
      .then(
        ({ etag }) => {
          this.sent.push({ number, etag });
          this.uploaded += bytes.length;
          this.onProgress(this.uploaded);
        },
        (error: unknown) => {
          this.failure ??= ossFailure(this.client, `uploading part ${number} of ${this.key}`, error);
        },
      )
      .finally(() => this.sending.delete(sending));
    this.sending.add(sending);
  }

  private start(): Promise<string> {
    this.uploadId ??= this.client.initMultipartUpload(this.key, { mime: 'application/zip' }).then(
      (answer) => answer.uploadId,
      (error: unknown) => {
        throw ossFailure(this.client, `starting the upload of ${this.key}`, error);
      },
    );
    return this.uploadId;
  }

  /** Makes the object, once the read is over and the checks passed: the last parts, then CompleteMultipartUpload. */
  async complete(): Promise<Uploaded> {
    await Promise.all(this.sending);
    if (this.failure !== undefined) throw this.failure;
    if (this.received !== this.size || (this.multipart && this.parts.size > 0)) {
      // The checks read every byte exactly once (src/zip/read-archive.ts): anything else is a bug here.
      throw new Error(`${this.key}: the read gave ${this.received} of ${this.size} bytes to the upload`);
    }
    if (!this.multipart) {
      const whole = this.parts.get(1)?.bytes ?? Buffer.alloc(0);
      return this.answer(() => this.client.put(this.key, whole, { mime: 'application/zip' } as OSS.PutObjectOptions), `uploading ${this.key}`);
    }
    const uploadId = await this.start();
    const parts = [...this.sent].sort((a, b) => a.number - b.number).map(({ number, etag }) => ({ number, etag }));
    return this.answer(() => this.client.completeMultipartUpload(this.key, uploadId, parts) as Promise<OssResponse>, `completing the upload of ${this.key}`);
  }

  /** Leaves nothing behind: the parts in flight settle, then the upload is aborted, so OSS keeps none of them. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.sending);
    this.parts.clear();
    if (this.uploadId === undefined) return;
    const uploadId = await this.uploadId.catch(() => undefined);
    if (uploadId === undefined) return;
    try {
      await this.client.abortMultipartUpload(this.key, uploadId);
    } catch (error) {
      throw ossFailure(this.client, `aborting the upload of ${this.key}`, error);
    }
  }

  private async answer(call: () => Promise<OssResponse>, action: string): Promise<Uploaded> {
    try {
      const { res } = await call();
      const headers = res.headers as Record<string, string | undefined>;
      return { requestId: headers['x-oss-request-id'], crc64: headers['x-oss-hash-crc64ecma'] };
    } catch (error) {
      throw ossFailure(this.client, action, error);
    }
  }
}
