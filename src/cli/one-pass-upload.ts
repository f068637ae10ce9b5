import { PassThrough } from 'node:stream';
import type OSS from 'ali-oss';
import type { OnChunk } from '../zip';
import { ossFailure } from './failures';

/** Zips above this go up in parts; smaller ones in one PUT of the bytes the checks read. */
export const MULTIPART_FROM_BYTES = 16 * 1024 * 1024;
export const PART_BYTES = 8 * 1024 * 1024;
/** Parts sent at once: ali-oss multipartUpload's own default (node_modules/ali-oss/lib/managed-upload.js). */
const PARALLEL_PARTS = 5;
/**
 * How far the read may run ahead of the sockets, all parts' bodies together: enough for the next parts to
 * start while the last ones drain (so a zip of one large entry, read by one run, still has several parts
 * in flight), little enough that memory stays near a plain upload's.
 */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;
/** What a body passes on ahead of its socket (a read's chunk, src/cli/check.ts): the rest of its bytes count as the read's lead. */
const BODY_READABLE_BYTES = 1024 * 1024;

export interface Uploaded {
  requestId: string | undefined;
  crc64: string | undefined;
}

interface OssResponse {
  res: { headers: unknown };
}

/** ali-oss's part upload from a stream, missing from @types/ali-oss (the public uploadPart reads a file by path). */
interface PartUploader {
  _uploadPart(name: string, uploadId: string, partNo: number, data: { stream: PassThrough; size: number }): Promise<{ etag: string }>;
}

/** A part of the multipart upload: its body streams from `next` on; bytes read ahead of `next` wait in `early`. */
interface Part {
  readonly number: number;
  readonly end: number;
  next: number;
  body: PassThrough | undefined;
  early: { at: number; bytes: Uint8Array }[];
}

/**
 * The zip's upload fed by the read that checks it (src/cli/check.ts), so `publish` reads the file once:
 * `tap` gets every byte once, at its position, in whatever order the checks read them (the tail first,
 * then runs of entries side by side). A part's request starts when the read reaches the part's first
 * byte and its body is the read's own chunks, written in order as they come, no copy: the read waits
 * for the sockets (READ_AHEAD_BYTES over all bodies) and for a free slot (PARALLEL_PARTS, as ali-oss),
 * so memory stays near a plain upload's whatever the zip's size. Bytes read before their turn (the tail;
 * a run's first bytes, whose part began in the run before) wait as the chunks they came in. Nothing
 * becomes an object before `complete`; `abort` leaves neither an object nor a pending upload.
 */
export class OnePassUpload {
  private readonly parts = new Map<number, Part>();
  private readonly sent: { number: number; etag: string }[] = [];
  private readonly sending = new Set<Promise<void>>();
  /** Bytes written to the parts' bodies that their sockets have not taken yet: the read's lead. */
  private unsent = 0;
  /** Settles when a socket takes some of them; shared by the runs waiting in keepPace. */
  private taken: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Below MULTIPART_FROM_BYTES: the whole file, sent by `complete` in one PUT. */
  private readonly whole: Buffer | undefined;
  private uploadId: Promise<string> | undefined;
  private failure: unknown;
  private received = 0;
  private uploaded = 0;

  constructor(
    private readonly client: OSS,
    readonly key: string,
    readonly size: number,
    private readonly onProgress: (uploadedBytes: number) => void = () => undefined,
  ) {
    this.whole = this.multipart ? undefined : Buffer.allocUnsafe(size);
  }

  /** In parts from MULTIPART_FROM_BYTES; below it one part, the whole file, sent by `complete` in one PUT. */
  get multipart(): boolean {
    return this.size >= MULTIPART_FROM_BYTES;
  }

  readonly tap: OnChunk = async (chunk, position) => {
    if (this.failure !== undefined) throw this.failure;
    this.received += chunk.length;
    if (this.whole !== undefined) {
      this.whole.set(chunk, position);
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      const at = position + offset;
      const part = this.partAt(at);
      const take = Math.min(chunk.length - offset, part.end - at);
      const bytes = chunk.subarray(offset, offset + take);
      offset += take;
      if (at !== part.next) part.early.push({ at, bytes });
      else await this.write(part, bytes);
    }
  };

  private partAt(at: number): Part {
    const number = Math.floor(at / PART_BYTES) + 1;
    let part = this.parts.get(number);
    if (part === undefined) {
      const start = (number - 1) * PART_BYTES;
      part = { number, end: Math.min(start + PART_BYTES, this.size), next: start, body: undefined, early: [] };
      this.parts.set(number, part);
    }
    return part;
  }

  /** Writes the part's next bytes, then any read earlier that now follow; ends the body at the part's end. */
  private async write(part: Part, bytes: Uint8Array): Promise<void> {
    const body = part.body ?? (await this.send(part));
    this.feed(body, bytes);
    part.next += bytes.length;
    for (let early = this.takeEarly(part); early !== undefined; early = this.takeEarly(part)) {
      this.feed(body, early.bytes);
      part.next += early.bytes.length;
    }
    if (part.next === part.end) {
      body.end();
      this.parts.delete(part.number);
    }
    await this.keepPace();
  }

  /**
   * A body's write callback comes once its bytes pass to the readable side, which holds little
   * (BODY_READABLE_BYTES): so once the socket has taken the bytes before them, or the body is destroyed.
   */
  private feed(body: PassThrough, bytes: Uint8Array): void {
    this.unsent += bytes.length;
    body.write(bytes, () => {
      this.unsent -= bytes.length;
      const { taken } = this;
      this.taken = undefined;
      taken?.resolve();
    });
  }

  /** Waits while the read is over READ_AHEAD_BYTES ahead: for a socket to take some, or a request to settle (a failure's body never drains). */
  private async keepPace(): Promise<void> {
    while (this.unsent > READ_AHEAD_BYTES) {
      if (this.taken === undefined) {
        let resolve = (): void => undefined;
        const promise = new Promise<void>((settle) => (resolve = settle));
        this.taken = { promise, resolve };
      }
      await Promise.race([this.taken.promise, ...this.sending]);
      if (this.failure !== undefined) throw this.failure;
    }
  }

  private takeEarly(part: Part): { at: number; bytes: Uint8Array } | undefined {
    const index = part.early.findIndex(({ at }) => at === part.next);
    return index < 0 ? undefined : part.early.splice(index, 1)[0];
  }

  /** Starts the part's request once a slot is free; a failure stops the read at its next chunk. */
  private async send(part: Part): Promise<PassThrough> {
    while (this.sending.size >= PARALLEL_PARTS) {
      await Promise.race(this.sending);
      if (this.failure !== undefined) throw this.failure;
    }
    const uploadId = await this.start();
    if (this.failure !== undefined) throw this.failure;
    const size = part.end - (part.number - 1) * PART_BYTES;
    // A whole part fits in the writable side: the read's pace is kept over all bodies together (keepPace).
    const body = new PassThrough({ writableHighWaterMark: PART_BYTES, readableHighWaterMark: BODY_READABLE_BYTES });
    part.body = body;
    const sending: Promise<void> = (this.client as unknown as PartUploader)
      ._uploadPart(this.key, uploadId, part.number, { stream: body, size })
      .then(
        ({ etag }) => {
          this.sent.push({ number: part.number, etag });
          this.uploaded += size;
          this.onProgress(this.uploaded);
        },
        (error: unknown) => {
          this.failure ??= ossFailure(this.client, `uploading part ${part.number} of ${this.key}`, error);
        },
      )
      .finally(() => this.sending.delete(sending));
    this.sending.add(sending);
    return body;
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
    if (this.received !== this.size || this.parts.size > 0) {
      // The checks read every byte exactly once (src/zip/read-archive.ts): anything else is a bug here.
      throw new Error(`${this.key}: the read gave ${this.received} of ${this.size} bytes to the upload`);
    }
    const { whole } = this;
    if (whole !== undefined) {
      return this.answer(() => this.client.put(this.key, whole, { mime: 'application/zip' } as OSS.PutObjectOptions), `uploading ${this.key}`);
    }
    const uploadId = await this.start();
    const parts = [...this.sent].sort((a, b) => a.number - b.number).map(({ number, etag }) => ({ number, etag }));
    return this.answer(() => this.client.completeMultipartUpload(this.key, uploadId, parts) as Promise<OssResponse>, `completing the upload of ${this.key}`);
  }

  /**
   * Leaves nothing behind: the parts in flight settle (a body the read stopped feeding is cut, so its
   * request fails instead of waiting for the rest), then the upload is aborted, so OSS keeps none of them.
   */
  async abort(): Promise<void> {
    this.failure ??= new Error(`the upload of ${this.key} was aborted`);
    for (const { body } of this.parts.values()) body?.destroy(new Error(`the read of ${this.key} stopped before this part's end`));
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
