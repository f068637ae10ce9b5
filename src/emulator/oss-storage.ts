import { createHash } from 'node:crypto';
import { Crc64 } from '../checksum/crc64';

/** What OSS reports about an object, without its bytes. */
export interface ObjectMeta {
  size: number;
  /** As in the `ETag` header: quoted upper-case hex, `"<hex>-<parts>"` after a multipart upload. */
  etag: string;
  /** `x-oss-hash-crc64ecma`; undefined for objects OSS has no CRC for (copies, legacy uploads). */
  crc64: string | undefined;
  lastModified: Date;
  contentType: string;
  objectType: 'Normal' | 'Multipart' | 'Appendable';
  /**
   * Headers stored with the object and sent back on GET and HEAD, names lower-case: the user's
   * `x-oss-meta-*` and the standard ones a PUT may set (Content-Disposition, Cache-Control…).
   */
  metadata: Record<string, string>;
}

/**
 * One version of an object, held open: its bytes stay those the metadata describes even when the key
 * is overwritten or deleted meanwhile, as a GET that has begun on OSS finishes with the version it began.
 */
export interface StoredObject extends ObjectMeta {
  /** The bytes in `[start, end)`, in pieces of at most `STREAM_PIECE_BYTES`, read as they are asked for. */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
  /** Lets the version go; every `open` is closed once, after its last read. */
  close(): Promise<void>;
}

export interface ListedObject extends ObjectMeta {
  key: string;
}

/** What a streamed write learnt from the bytes as they went by. */
export interface WrittenBody {
  size: number;
  md5: Buffer;
  crc64: string;
}

/** A multipart upload between Initiate and Complete or Abort. */
export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: Date;
  contentType: string;
  metadata: Record<string, string>;
}

/** One uploaded part, as ListParts reports it. */
export interface PartRecord {
  partNumber: number;
  size: number;
  /** Upper-case hex of the part's MD5: its ETag without quotes. */
  md5: string;
  crc64: string;
  lastModified: Date;
}

/**
 * Where multipart uploads keep their parts until Complete: in the backend, never in the emulator's
 * memory, so a large upload streams to where the object will live.
 */
export interface UploadStore {
  create(upload: UploadRecord): Promise<void>;
  get(uploadId: string): Promise<UploadRecord | undefined>;
  /** Uploads in progress in a bucket, in no particular order. */
  list(bucket: string): Promise<UploadRecord[]>;
  /** Stores (or replaces) a part as it arrives; `describe` may throw to refuse it, and nothing is kept then. */
  putPart(uploadId: string, partNumber: number, body: AsyncIterable<Uint8Array>, describe: (written: WrittenBody) => PartRecord): Promise<PartRecord>;
  /** The parts uploaded so far, by part number. */
  parts(uploadId: string): Promise<PartRecord[]>;
  readPart(uploadId: string, partNumber: number): AsyncIterable<Uint8Array>;
  /** Forgets the upload and its parts. */
  delete(uploadId: string): Promise<void>;
}

/** Where the OSS emulator keeps buckets and objects: in memory for tests, a folder for local runs. */
export interface OssBackend {
  createBucket(bucket: string): Promise<void>;
  hasBucket(bucket: string): Promise<boolean>;
  /** When the bucket was created, or undefined when there is no such bucket. */
  bucketCreated(bucket: string): Promise<Date | undefined>;
  /** What OSS knows about the object now, without its bytes. */
  get(bucket: string, key: string): Promise<ObjectMeta | undefined>;
  /** The object now, held open for reading its bytes; the caller closes it. */
  open(bucket: string, key: string): Promise<StoredObject | undefined>;
  put(bucket: string, key: string, bytes: Uint8Array, meta: ObjectMeta): Promise<void>;
  /**
   * Stores a body as it arrives. `describe` turns what was written into the object's metadata, or
   * throws to refuse it: nothing is stored then, and the previous object stays.
   */
  putStream(bucket: string, key: string, body: AsyncIterable<Uint8Array>, describe: (written: WrittenBody) => ObjectMeta): Promise<ObjectMeta>;
  /** True when there was an object to delete. */
  delete(bucket: string, key: string): Promise<boolean>;
  /** Every object of the bucket, sorted by key as OSS lists them (UTF-8 byte order). */
  list(bucket: string): Promise<ListedObject[]>;
  readonly uploads: UploadStore;
}

export const STREAM_PIECE_BYTES = 64 * 1024;

/** MD5, CRC-64 and size of the bytes passing by, as OSS computes them on upload. */
export class Digests {
  private readonly md5 = createHash('md5');
  private readonly crc = new Crc64();
  private size = 0;

  update(chunk: Uint8Array): void {
    this.md5.update(chunk);
    this.crc.update(chunk);
    this.size += chunk.byteLength;
  }

  result(): WrittenBody {
    return { size: this.size, md5: this.md5.digest(), crc64: this.crc.digest() };
  }

  /** Passes `body` through, digesting each piece on the way. */
  async *tap(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    for await (const piece of body) {
      this.update(piece);
      yield piece;
    }
  }
}

interface MemoryObject {
  bytes: Uint8Array;
  meta: ObjectMeta;
}

interface MemoryUpload {
  record: UploadRecord;
  parts: Map<number, { bytes: Uint8Array; part: PartRecord }>;
}

export function createMemoryBackend(): OssBackend {
  const buckets = new Map<string, { created: Date; objects: Map<string, MemoryObject> }>();
  const objectsOf = (bucket: string): Map<string, MemoryObject> => {
    const found = buckets.get(bucket);
    if (found === undefined) throw new Error(`No bucket ${bucket}`);
    return found.objects;
  };
  const uploads = new Map<string, MemoryUpload>();
  const uploadOf = (uploadId: string): MemoryUpload => {
    const found = uploads.get(uploadId);
    if (found === undefined) throw new Error(`No upload ${uploadId}`);
    return found;
  };

  return {
    async createBucket(bucket) {
      if (!buckets.has(bucket)) buckets.set(bucket, { created: new Date(), objects: new Map() });
    },
    async hasBucket(bucket) {
      return buckets.has(bucket);
    },
    async bucketCreated(bucket) {
      return buckets.get(bucket)?.created;
    },
    async get(bucket, key) {
      return buckets.get(bucket)?.objects.get(key)?.meta;
    },
    async open(bucket, key) {
      // A put replaces the entry and never changes a stored one's bytes: holding the entry holds the version.
      const stored = buckets.get(bucket)?.objects.get(key);
      if (stored === undefined) return undefined;
      return { ...stored.meta, read: (start, end) => pieces(stored.bytes, start, end), close: async () => undefined };
    },
    async put(bucket, key, bytes, meta) {
      objectsOf(bucket).set(key, { bytes, meta });
    },
    async putStream(bucket, key, body, describe) {
      const objects = objectsOf(bucket);
      const { bytes, written } = await collect(body);
      const meta = describe(written);
      objects.set(key, { bytes, meta });
      return meta;
    },
    async delete(bucket, key) {
      return buckets.get(bucket)?.objects.delete(key) ?? false;
    },
    async list(bucket) {
      const objects = [...(buckets.get(bucket)?.objects.entries() ?? [])].map(([key, { meta }]) => ({ key, ...meta }));
      return objects.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    },
    uploads: {
      async create(record) {
        uploads.set(record.uploadId, { record, parts: new Map() });
      },
      async get(uploadId) {
        return uploads.get(uploadId)?.record;
      },
      async list(bucket) {
        return [...uploads.values()].map(({ record }) => record).filter((record) => record.bucket === bucket);
      },
      async putPart(uploadId, partNumber, body, describe) {
        const upload = uploadOf(uploadId);
        const { bytes, written } = await collect(body);
        const part = describe(written);
        upload.parts.set(partNumber, { bytes, part });
        return part;
      },
      async parts(uploadId) {
        return [...uploadOf(uploadId).parts.values()].map(({ part }) => part).sort((a, b) => a.partNumber - b.partNumber);
      },
      readPart(uploadId, partNumber) {
        const stored = uploadOf(uploadId).parts.get(partNumber);
        if (stored === undefined) throw new Error(`No part ${partNumber} in upload ${uploadId}`);
        return pieces(stored.bytes, 0, stored.bytes.byteLength);
      },
      async delete(uploadId) {
        uploads.delete(uploadId);
      },
    },
  };
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<{ bytes: Uint8Array; written: WrittenBody }> {
  const digests = new Digests();
  const chunks: Uint8Array[] = [];
  for await (const chunk of digests.tap(body)) chunks.push(chunk);
  return { bytes: Buffer.concat(chunks), written: digests.result() };
}

/**
 * The stored bytes a piece at a time, as views (a Buffer's slice copies nothing): every consumer copies
 * what it keeps (readObject and a copy's PUT concatenate, a response is sent over the transport), and
 * a stored object's bytes are never written again.
 */
async function* pieces(bytes: Uint8Array, start: number, end: number): AsyncIterable<Uint8Array> {
  for (let offset = start; offset < end; offset += STREAM_PIECE_BYTES) {
    yield bytes.slice(offset, Math.min(offset + STREAM_PIECE_BYTES, end));
  }
}
