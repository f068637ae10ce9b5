/** What OSS reports about an object, without its bytes. */
export interface ObjectMeta {
  size: number;
  /** As in the `ETag` header: quoted upper-case hex, `"<hex>-<parts>"` after a multipart upload. */
  etag: string;
  /** `x-oss-hash-crc64ecma`; undefined for objects OSS has no CRC for (copies, legacy uploads). */
  crc64: string | undefined;
  lastModified: Date;
  contentType: string;
  objectType: 'Normal' | 'Multipart';
}

export interface StoredObject extends ObjectMeta {
  /** The bytes in `[start, end)`, in pieces of at most `STREAM_PIECE_BYTES`, read as they are asked for. */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
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

/** Where the OSS emulator keeps buckets and objects: in memory for tests, a folder for local runs. */
export interface OssBackend {
  createBucket(bucket: string): Promise<void>;
  hasBucket(bucket: string): Promise<boolean>;
  get(bucket: string, key: string): Promise<StoredObject | undefined>;
  put(bucket: string, key: string, bytes: Uint8Array, meta: ObjectMeta): Promise<void>;
  /**
   * Optional: stores a body as it arrives, so a large upload never sits whole in memory. `describe`
   * turns what was written into the object's metadata, or throws to refuse it: nothing is stored then.
   */
  putStream?(bucket: string, key: string, body: AsyncIterable<Uint8Array>, describe: (written: WrittenBody) => ObjectMeta): Promise<ObjectMeta>;
  /** True when there was an object to delete. */
  delete(bucket: string, key: string): Promise<boolean>;
  /** Every object of the bucket, sorted by key as OSS lists them (UTF-8 byte order). */
  list(bucket: string): Promise<ListedObject[]>;
}

export const STREAM_PIECE_BYTES = 64 * 1024;

interface MemoryObject {
  bytes: Uint8Array;
  meta: ObjectMeta;
}

export function createMemoryBackend(): OssBackend {
  const buckets = new Map<string, Map<string, MemoryObject>>();
  const bucketOf = (bucket: string): Map<string, MemoryObject> | undefined => buckets.get(bucket);

  return {
    async createBucket(bucket) {
      if (!buckets.has(bucket)) buckets.set(bucket, new Map());
    },
    async hasBucket(bucket) {
      return buckets.has(bucket);
    },
    async get(bucket, key) {
      const stored = bucketOf(bucket)?.get(key);
      if (stored === undefined) return undefined;
      return { ...stored.meta, read: (start, end) => pieces(stored.bytes, start, end) };
    },
    async put(bucket, key, bytes, meta) {
      const objects = bucketOf(bucket);
      if (objects === undefined) throw new Error(`No bucket ${bucket}`);
      objects.set(key, { bytes, meta });
    },
    async delete(bucket, key) {
      return bucketOf(bucket)?.delete(key) ?? false;
    },
    async list(bucket) {
      const objects = [...(bucketOf(bucket)?.entries() ?? [])].map(([key, { meta }]) => ({ key, ...meta }));
      return objects.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    },
  };
}

/** Copies one piece at a time, so a reader never holds more than a piece it has not consumed. */
async function* pieces(bytes: Uint8Array, start: number, end: number): AsyncIterable<Uint8Array> {
  for (let offset = start; offset < end; offset += STREAM_PIECE_BYTES) {
    yield bytes.slice(offset, Math.min(offset + STREAM_PIECE_BYTES, end));
  }
}
