import { crc64Combine } from '../checksum/combine';
import type { Credential } from './auth';
import { FaultInjector } from './faults';
import { aclXml, bucketInfoXml, bucketLocationXml } from './oss-bucket';
import { type ObjectCreatedEventName, type OssEventRecord, objectCreatedRecord } from './oss-events';
import { listObjectsXml } from './oss-list';
import { MultipartUploads, wholeSeconds } from './oss-multipart';
import { type CopyWrite, appendEtag, appendPosition, copyMetadata, copySource, copySourceRange, evaluateCopyPreconditions } from './oss-object-write';
import {
  applyResponseOverrides,
  evaluatePreconditions,
  forbidsOverwrite,
  metadataOf,
  objectHeaders,
  quotedEtag,
  rejectConditionalWrite,
  resolveRange,
  streamOf,
  verifyContentMd5Digest,
} from './oss-object-http';
import { type ServedOperation, identifyOperation, isServed } from './oss-operations';
import { type OssResource, loggableQuery, verifyOssSignature } from './oss-signature';
import { Digests, type ObjectMeta, type OssBackend, type StoredObject, type WrittenBody, createMemoryBackend } from './oss-storage';
import { element, errorXml, xmlDocument } from './oss-xml';
import { RequestLog } from './request-log';
import { ServiceError, loggableHeaders, newRequestId, readBody } from './service';

export interface OssEmulatorOptions {
  accountId: string;
  /** Region id without the `oss-` prefix, e.g. `cn-hangzhou`. */
  region: string;
  credentials: readonly Credential[];
  buckets?: readonly string[];
  backend?: OssBackend;
  /** The server's clock: dates of new objects and the 15-minute skew check. */
  now?: () => Date;
  /** Refuse V1 signatures (header and presigned), as OSS does for a new account or bucket; V4 only. */
  newAccount?: boolean;
}

/** A request as faults match it and the log records it. */
export interface OssRequestTarget {
  method: string;
  /** The OSS API operation, as OSS names it (`PutObject`, `ListParts`…). */
  operation: string;
  bucket: string;
  /** Decoded; empty for bucket-level requests. */
  key: string;
  query: Record<string, string>;
}

export interface OssRequestRecord extends OssRequestTarget {
  /** Every request header but those that carry credentials. */
  headers: Record<string, string>;
  status: number;
  /** The OSS error code, when the answer was an error. */
  code?: string;
  requestId: string;
}

export interface SeedOptions {
  /** Store no CRC, as OSS has none for copied or legacy objects: no `x-oss-hash-crc64ecma`. */
  withoutCrc?: boolean;
  contentType?: string;
  /** Stored headers (`x-oss-meta-*`, Content-Disposition…), lower-case names. */
  metadata?: Record<string, string>;
}

export type ObjectCreatedListener = (record: OssEventRecord) => void;

export interface OssEmulator {
  /** The fake itself: answers one HTTP request as OSS would. */
  handle(request: Request): Promise<Response>;
  createBucket(bucket: string): Promise<void>;
  /** Stores an object directly (no request, no event), as if uploaded earlier. */
  putObject(bucket: string, key: string, bytes: Uint8Array, options?: SeedOptions): Promise<ObjectMeta>;
  readObject(bucket: string, key: string): Promise<Uint8Array | undefined>;
  statObject(bucket: string, key: string): Promise<ObjectMeta | undefined>;
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  /** Called for each object created through the API, as the OSS trigger would be. Returns an unsubscribe. */
  onObjectCreated(listener: ObjectCreatedListener): () => void;
  /** The event record OSS would send for the object as it is now stored (for seeded objects). */
  objectCreatedEvent(bucket: string, key: string, eventName?: ObjectCreatedEventName): Promise<OssEventRecord>;
  readonly requests: RequestLog<OssRequestRecord>;
  readonly faults: FaultInjector<OssRequestTarget>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

interface ParsedRequest extends OssResource {
  method: string;
  operation: string;
}

/** One request on its way through an operation. */
interface Call {
  request: Request;
  parsed: ParsedRequest;
  requestId: string;
}

/** A GET's or HEAD's status and headers, and the bytes `[start, end)` a GET's body carries. */
interface ObjectAnswer {
  status: number;
  headers: Headers;
  start: number;
  end: number;
}

interface StoreWrite {
  forbidOverwrite: boolean;
  eventName: ObjectCreatedEventName;
  requestId: string;
}

export function createOssEmulator(options: OssEmulatorOptions): OssEmulator {
  return new OssService(options);
}

class OssService implements OssEmulator {
  readonly requests = new RequestLog<OssRequestRecord>();
  readonly faults = new FaultInjector<OssRequestTarget>();
  private readonly backend: OssBackend;
  private readonly now: () => Date;
  private readonly multipart: MultipartUploads;
  private readonly listeners = new Set<ObjectCreatedListener>();
  private readonly writes = new KeyedQueue();
  private readonly ready: Promise<void>;
  private readonly operations: Record<ServedOperation, (call: Call) => Promise<Response>>;

  constructor(private readonly options: OssEmulatorOptions) {
    this.backend = options.backend ?? createMemoryBackend();
    this.now = options.now ?? (() => new Date());
    this.multipart = new MultipartUploads(this.backend.uploads, this.now);
    this.ready = Promise.all((options.buckets ?? []).map((bucket) => this.createBucket(bucket))).then(() => undefined);
    this.operations = {
      ListObjects: (call) => this.listObjects(call),
      ListObjectsV2: (call) => this.listObjects(call),
      GetBucketInfo: (call) => this.getBucketInfo(call),
      GetBucketLocation: async () => xmlResponse(bucketLocationXml(this.options.region)),
      GetBucketAcl: async () => xmlResponse(aclXml(this.options.accountId, 'private')),
      GetObjectACL: async ({ parsed: { bucket, key } }) => {
        if ((await this.backend.get(bucket, key)) === undefined) throw noSuchKey(key);
        return xmlResponse(aclXml(this.options.accountId, 'default'));
      },
      ListMultipartUploads: async ({ parsed }) => xmlResponse(await this.multipart.listUploadsXml(parsed.bucket, parsed.query)),
      PutObject: (call) => this.putObjectRequest(call),
      CopyObject: (call) => this.copyObject(call),
      AppendObject: (call) => this.appendObject(call),
      GetObject: (call) => this.getObject(call),
      HeadObject: (call) => this.getObject(call),
      GetObjectMeta: (call) => this.getObject(call),
      DeleteObject: async ({ parsed }) => {
        await this.backend.delete(parsed.bucket, parsed.key);
        return new Response(null, { status: 204 });
      },
      InitiateMultipartUpload: (call) => this.initiateMultipartUpload(call),
      UploadPart: (call) => this.uploadPart(call),
      UploadPartCopy: (call) => this.uploadPartCopy(call),
      CompleteMultipartUpload: (call) => this.completeMultipartUpload(call),
      AbortMultipartUpload: async ({ parsed }) => {
        await this.multipart.abort(parsed.bucket, parsed.key, parsed.query.get('uploadId'));
        return new Response(null, { status: 204 });
      },
      ListParts: async ({ parsed }) => xmlResponse(await this.multipart.listPartsXml(parsed.bucket, parsed.key, parsed.query)),
    };
  }

  handle = async (request: Request): Promise<Response> => {
    await this.ready;
    const requestId = newRequestId();
    const parsed = parseRequest(request);
    let response: Response;
    let code: string | undefined;
    try {
      response = await this.serve({ request, parsed, requestId });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      code = error.code;
      response = this.errorResponse(error, request.method, requestId, parsed.bucket);
    }
    response.headers.set('x-oss-request-id', requestId);
    response.headers.set('server', 'AliyunOSS');
    response.headers.set('date', this.now().toUTCString());
    this.requests.record({ ...describe(parsed), headers: loggableHeaders(request.headers), status: response.status, code, requestId });
    return response;
  };

  async createBucket(bucket: string): Promise<void> {
    if (!BUCKET_NAME.test(bucket)) throw new Error(`Invalid OSS bucket name: ${bucket}`);
    await this.backend.createBucket(bucket);
  }

  async putObject(bucket: string, key: string, bytes: Uint8Array, options: SeedOptions = {}): Promise<ObjectMeta> {
    await this.ready;
    if (!(await this.backend.hasBucket(bucket))) throw new Error(`No bucket ${bucket}: create it first`);
    const digests = new Digests();
    digests.update(bytes);
    const written = digests.result();
    const meta = this.newObjectMeta(written, quotedEtag(written.md5), options.contentType ?? DEFAULT_CONTENT_TYPE, 'Normal', options.metadata ?? {});
    if (options.withoutCrc) meta.crc64 = undefined;
    await this.backend.put(bucket, key, bytes, meta);
    return meta;
  }

  async readObject(bucket: string, key: string): Promise<Uint8Array | undefined> {
    const object = await this.backend.open(bucket, key);
    if (object === undefined) return undefined;
    return closing(object, async () => {
      const pieces: Uint8Array[] = [];
      for await (const piece of object.read(0, object.size)) pieces.push(piece);
      return Buffer.concat(pieces);
    });
  }

  statObject(bucket: string, key: string): Promise<ObjectMeta | undefined> {
    return this.backend.get(bucket, key);
  }

  async listKeys(bucket: string, prefix = ''): Promise<string[]> {
    const objects = await this.backend.list(bucket);
    return objects.map((object) => object.key).filter((key) => key.startsWith(prefix));
  }

  onObjectCreated(listener: ObjectCreatedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async objectCreatedEvent(bucket: string, key: string, eventName: ObjectCreatedEventName = 'ObjectCreated:PutObject'): Promise<OssEventRecord> {
    const meta = await this.statObject(bucket, key);
    if (meta === undefined) throw new Error(`No object ${bucket}/${key}`);
    return this.record(eventName, bucket, key, meta, meta.size, newRequestId());
  }

  private async serve(call: Call): Promise<Response> {
    const { parsed, request } = call;
    if (parsed.bucket === '') throw notImplemented(parsed.operation);
    if (!(await this.backend.hasBucket(parsed.bucket))) throw noSuchBucket(parsed.bucket);
    const { credentials, region, newAccount = false } = this.options;
    verifyOssSignature(request, parsed, { credentials, region, allowV1: !newAccount, now: this.now() });
    const { operation } = parsed;
    if (!isServed(operation)) throw notImplemented(operation);
    return this.faults.apply(describe(parsed), () => this.operations[operation](call));
  }

  private async putObjectRequest({ request, parsed: { bucket, key }, requestId }: Call): Promise<Response> {
    rejectConditionalWrite(request.headers);
    const write: StoreWrite = { forbidOverwrite: forbidsOverwrite(request.headers), eventName: 'ObjectCreated:PutObject', requestId };
    const contentType = request.headers.get('content-type') ?? DEFAULT_CONTENT_TYPE;
    const metadata = metadataOf(request.headers);
    let digest: Buffer = Buffer.alloc(0);
    const meta = await this.writeObject(bucket, key, write, () =>
      this.backend.putStream(bucket, key, bodyOf(request), (written) => {
        verifyContentMd5Digest(request.headers, written.md5);
        digest = written.md5;
        return this.newObjectMeta(written, quotedEtag(written.md5), contentType, 'Normal', metadata);
      }),
    );
    return new Response(null, { status: 200, headers: writeHeaders(meta.etag, meta.crc64, digest.toString('base64')) });
  }

  /** CopyObject keeps the source's bytes, ETag and CRC; the metadata is the source's or the request's. */
  private async copyObject({ request, parsed: { bucket, key }, requestId }: Call): Promise<Response> {
    const source = await this.copySourceObject(request.headers);
    const meta = await closing(source, async () => {
      if (evaluateCopyPreconditions(request.headers, source) === 'not-modified') return undefined;
      const copied: CopyWrite = copyMetadata(request.headers, source, DEFAULT_CONTENT_TYPE);
      const write: StoreWrite = { forbidOverwrite: forbidsOverwrite(request.headers), eventName: 'ObjectCreated:CopyObject', requestId };
      return this.writeObject(bucket, key, write, () =>
        this.backend.putStream(bucket, key, source.read(0, source.size), (written) => ({
          ...this.newObjectMeta(written, source.etag, copied.contentType, source.objectType, copied.metadata),
          crc64: source.crc64,
        })),
      );
    });
    if (meta === undefined) return new Response(null, { status: 304 });
    const response = xmlResponse(xmlDocument('CopyObjectResult', [element('LastModified', meta.lastModified.toISOString()), element('ETag', meta.etag)]));
    if (meta.crc64 !== undefined) response.headers.set('x-oss-hash-crc64ecma', meta.crc64);
    return response;
  }

  /** The object `x-oss-copy-source` names, in this account's buckets, held open: the caller closes it. */
  private async copySourceObject(headers: Headers): Promise<StoredObject> {
    const { bucket, key } = copySource(headers);
    if (!(await this.backend.hasBucket(bucket))) throw noSuchBucket(bucket);
    const object = await this.backend.open(bucket, key);
    if (object === undefined) throw noSuchKey(key);
    return object;
  }

  /**
   * AppendObject: the bytes go after the object's, at `position`, which must be its length. The CRC
   * is the previous one combined with the appended bytes' (OSS does not read the object again).
   */
  private async appendObject({ request, parsed: { bucket, key, query }, requestId }: Call): Promise<Response> {
    const position = appendPosition(query);
    const write: StoreWrite = { forbidOverwrite: false, eventName: 'ObjectCreated:AppendObject', requestId };
    const meta = await this.writeObject(bucket, key, write, async () => {
      const previous = await this.backend.open(bucket, key);
      if (previous === undefined) return this.append(bucket, key, request, position, undefined);
      return closing(previous, () => this.append(bucket, key, request, position, previous));
    });
    const headers = writeHeaders(meta.etag, meta.crc64);
    headers.set('x-oss-next-append-position', String(meta.size));
    return new Response(null, { status: 200, headers });
  }

  /** The bytes of `previous` (none for a new object), then the request's, stored as the new object. */
  private async append(bucket: string, key: string, request: Request, position: number, previous: StoredObject | undefined): Promise<ObjectMeta> {
    if (previous !== undefined && previous.objectType !== 'Appendable') {
      throw new ServiceError(409, 'ObjectNotAppendable', 'The object is not appendable.', { Key: key });
    }
    const length = previous?.size ?? 0;
    if (position !== length) {
      throw new ServiceError(409, 'PositionNotEqualToLength', 'Position is not equal to file length.', {}, { 'x-oss-next-append-position': String(length) });
    }
    const appended = new Digests();
    const body = concatenate(previous === undefined ? [] : [previous.read(0, previous.size)], appended.tap(bodyOf(request)));
    return this.backend.putStream(bucket, key, body, (written) => {
      const added = appended.result();
      verifyContentMd5Digest(request.headers, added.md5);
      // Content-Type and metadata are set by the first append only.
      const contentType = previous?.contentType ?? request.headers.get('content-type') ?? DEFAULT_CONTENT_TYPE;
      const etag = appendEtag(previous?.etag, added.md5);
      const meta = this.newObjectMeta(written, etag, contentType, 'Appendable', previous?.metadata ?? metadataOf(request.headers));
      meta.crc64 = appendedCrc(previous, added);
      return meta;
    });
  }
  private async getObject({ request, parsed: { bucket, key, method, query } }: Call): Promise<Response> {
    if (method === 'HEAD') {
      const meta = await this.backend.get(bucket, key);
      if (meta === undefined) throw noSuchKey(key);
      const { status, headers } = objectAnswer(request, meta, query, method);
      return new Response(null, { status, headers });
    }
    const object = await this.backend.open(bucket, key);
    if (object === undefined) throw noSuchKey(key);
    let answer: ObjectAnswer;
    try {
      answer = objectAnswer(request, object, query, method);
    } catch (error) {
      await object.close();
      throw error;
    }
    const { status, headers, start, end } = answer;
    if (status === 304) {
      await object.close();
      return new Response(null, { status, headers });
    }
    // The held version streams to the end even if the key is overwritten meanwhile.
    return new Response(
      streamOf(object.read(start, end), () => object.close()),
      { status, headers },
    );
  }

  private async initiateMultipartUpload({ request, parsed: { bucket, key } }: Call): Promise<Response> {
    if (forbidsOverwrite(request.headers) && (await this.backend.get(bucket, key)) !== undefined) throw fileAlreadyExists(key);
    const contentType = request.headers.get('content-type') ?? DEFAULT_CONTENT_TYPE;
    const uploadId = await this.multipart.initiate(bucket, key, contentType, metadataOf(request.headers));
    return xmlResponse(xmlDocument('InitiateMultipartUploadResult', [element('Bucket', bucket), element('Key', key), element('UploadId', uploadId)]));
  }

  private async uploadPart({ request, parsed: { bucket, key, query } }: Call): Promise<Response> {
    const part = await this.multipart.uploadPart(bucket, key, query, request.headers, bodyOf(request));
    const etag = quotedEtag(Buffer.from(part.md5, 'hex'));
    return new Response(null, { status: 200, headers: writeHeaders(etag, part.crc64, Buffer.from(part.md5, 'hex').toString('base64')) });
  }

  /** UploadPartCopy: a part made of a byte range of another object (`x-oss-copy-source-range`). */
  private async uploadPartCopy({ request, parsed: { bucket, key, query } }: Call): Promise<Response> {
    await this.multipart.find(bucket, key, query.get('uploadId'));
    const source = await this.copySourceObject(request.headers);
    const part = await closing(source, async () => {
      if (evaluateCopyPreconditions(request.headers, source) === 'not-modified') return undefined;
      const range = copySourceRange(request.headers, source.size);
      return this.multipart.uploadPart(bucket, key, query, new Headers(), source.read(range.start, range.end + 1));
    });
    if (part === undefined) return new Response(null, { status: 304 });
    const response = xmlResponse(
      xmlDocument('CopyPartResult', [element('LastModified', part.lastModified.toISOString()), element('ETag', quotedEtag(Buffer.from(part.md5, 'hex')))]),
    );
    // ali-oss takes the part's ETag from the header, not from the XML.
    writeHeaders(quotedEtag(Buffer.from(part.md5, 'hex')), part.crc64).forEach((value, name) => {
      response.headers.set(name, value);
    });
    return response;
  }

  private async completeMultipartUpload({ request, parsed: { bucket, key, query }, requestId }: Call): Promise<Response> {
    const forbidOverwrite = forbidsOverwrite(request.headers);
    const completed = await this.multipart.complete(bucket, key, query, request.headers, await readBody(request));
    const write: StoreWrite = { forbidOverwrite, eventName: 'ObjectCreated:CompleteMultipartUpload', requestId };
    const { upload } = completed;
    const meta = await this.writeObject(bucket, key, write, () =>
      this.backend.putStream(bucket, key, this.multipart.read(completed), (written) => {
        if (written.size !== completed.size) throw new Error(`Upload ${upload.uploadId}: parts hold ${written.size} bytes, their records ${completed.size}`);
        return { ...this.newObjectMeta(written, completed.etag, upload.contentType, 'Multipart', upload.metadata), crc64: completed.crc64 };
      }),
    );
    await this.multipart.forget(upload.uploadId);
    const body = xmlDocument('CompleteMultipartUploadResult', [
      element('Location', `http://${hostIdOf(bucket, this.options.region)}/${key}`),
      element('Bucket', bucket),
      element('Key', key),
      element('ETag', meta.etag),
    ]);
    const response = xmlResponse(body);
    writeHeaders(meta.etag, meta.crc64).forEach((value, name) => {
      response.headers.set(name, value);
    });
    return response;
  }

  private async listObjects({ parsed: { bucket, query } }: Call): Promise<Response> {
    return xmlResponse(listObjectsXml(bucket, this.options.accountId, await this.backend.list(bucket), query));
  }

  private async getBucketInfo({ parsed: { bucket } }: Call): Promise<Response> {
    const created = (await this.backend.bucketCreated(bucket)) ?? this.now();
    const { accountId, region } = this.options;
    return xmlResponse(bucketInfoXml({ bucket, created, accountId, region }));
  }

  private newObjectMeta(
    written: WrittenBody,
    etag: string,
    contentType: string,
    objectType: ObjectMeta['objectType'],
    metadata: Record<string, string>,
  ): ObjectMeta {
    // Whole seconds, as Last-Modified carries them: an object's date then reads back the same everywhere.
    return { size: written.size, etag, crc64: written.crc64, lastModified: wholeSeconds(this.now()), contentType, objectType, metadata };
  }

  /**
   * Checks forbid-overwrite, stores with `put` and announces the new object, queued per key: OSS
   * decides create-if-absent atomically, and the backend's get and put are two awaits, so two
   * concurrent forbid-overwrite writes could otherwise both win.
   */
  private writeObject(bucket: string, key: string, write: StoreWrite, put: () => Promise<ObjectMeta>): Promise<ObjectMeta> {
    return this.writes.run(`${bucket}/${key}`, async () => {
      const previous = await this.backend.get(bucket, key);
      if (write.forbidOverwrite && previous !== undefined) throw fileAlreadyExists(key);
      const meta = await put();
      this.notify(this.record(write.eventName, bucket, key, meta, meta.size - (previous?.size ?? 0), write.requestId));
      return meta;
    });
  }

  private record(eventName: ObjectCreatedEventName, bucket: string, key: string, meta: ObjectMeta, deltaSize: number, requestId: string): OssEventRecord {
    const { region, accountId } = this.options;
    return objectCreatedRecord({ eventName, bucket, key, meta, deltaSize, requestId, region, accountId });
  }

  /** A failing listener is a broken test, not an upload failure: report it without failing the PUT. */
  private notify(record: OssEventRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  private errorResponse(error: ServiceError, method: string, requestId: string, bucket: string): Response {
    const body = errorXml(error, requestId, hostIdOf(bucket, this.options.region));
    const headers = new Headers(error.headers);
    // HEAD answers carry no body, errors included; OSS puts the error, base64, in x-oss-err (docs/reference/alibaba-cloud.md §6.5).
    if (method === 'HEAD') {
      headers.set('x-oss-err', Buffer.from(body).toString('base64'));
      return new Response(null, { status: error.status, headers });
    }
    headers.set('content-type', 'application/xml');
    return new Response(body, { status: error.status, headers });
  }
}

/**
 * Where the bucket is: in the URL's host (`<bucket>.oss-<region>.aliyuncs.com`, virtual-host
 * style), in the first path segment (path-style, ali-oss `sldEnable`), or, for an IP endpoint, in
 * the `Host` header: ali-oss given `http://127.0.0.1:9000` and no `sldEnable` sends `/<key>` with
 * `Host: <bucket>.oss-<region>.aliyuncs.com` (docs/reference/alibaba-cloud.md §7.1). With `sldEnable` it sends that
 * Host too, and the path then starts with the bucket: a path whose first segment is the Host's
 * bucket is read path-style. The key is decoded once, so `%2B` is `+`.
 */
function parseRequest(request: Request): ParsedRequest {
  const url = new URL(request.url);
  const path = url.pathname.slice(1);
  const slash = path.indexOf('/');
  const firstSegment = slash === -1 ? path : path.slice(0, slash);
  const hostBucket = isLoopbackOrIp(url.hostname) ? bucketOfHost(hostnameOf(request.headers.get('host'))) : bucketOfHost(url.hostname);
  const pathStyle = isLoopbackOrIp(url.hostname) && (hostBucket === undefined || hostBucket === firstSegment);
  const bucket = pathStyle ? firstSegment : (hostBucket ?? '');
  const encodedKey = pathStyle ? (slash === -1 ? '' : path.slice(slash + 1)) : path;
  let key: string;
  try {
    key = decodeURIComponent(encodedKey);
  } catch {
    // An undecodable key is answered by the error path with the key kept as sent.
    key = encodedKey;
  }
  const method = request.method.toUpperCase();
  const operation = identifyOperation({ method, bucket, key, query: url.searchParams, headers: request.headers });
  return { method, operation, bucket, key, query: url.searchParams };
}

/** `team-layers` in `team-layers.oss-cn-hangzhou.aliyuncs.com`; none for `oss-cn-hangzhou.aliyuncs.com` or an IP. */
function bucketOfHost(hostname: string | undefined): string | undefined {
  if (hostname === undefined || isLoopbackOrIp(hostname)) return undefined;
  const labels = hostname.split('.');
  const serviceLabels = hostname.endsWith('.aliyuncs.com') ? 3 : 1;
  return labels.length > serviceLabels ? labels[0] : undefined;
}

function hostnameOf(host: string | null): string | undefined {
  if (host === null || host === '') return undefined;
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
}

function isLoopbackOrIp(hostname: string): boolean {
  return hostname === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith('[');
}

function describe({ method, operation, bucket, key, query }: ParsedRequest): OssRequestTarget {
  return { method, operation, bucket, key, query: loggableQuery(query) };
}

function bodyOf(request: Request): AsyncIterable<Uint8Array> {
  // Node's web streams are async iterable; the DOM typings in use do not say so.
  return (request.body ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() })) as unknown as AsyncIterable<Uint8Array>;
}

async function* concatenate(first: readonly AsyncIterable<Uint8Array>[], last: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for (const body of first) yield* body;
  yield* last;
}

/** The CRC of the object after an append: undefined when the object before had none to combine with. */
function appendedCrc(previous: ObjectMeta | undefined, added: WrittenBody): string | undefined {
  if (previous === undefined) return added.crc64;
  if (previous.crc64 === undefined) return undefined;
  return crc64Combine(previous.crc64, added.crc64, added.size);
}

function notImplemented(operation: string): ServiceError {
  return new ServiceError(501, 'NotImplemented', `The local OSS does not serve ${operation}. See docs/local-stack.md, "What the local OSS serves".`, {
    Operation: operation,
  });
}

function noSuchBucket(bucket: string): ServiceError {
  return new ServiceError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket });
}

function noSuchKey(key: string): ServiceError {
  return new ServiceError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
}

function fileAlreadyExists(key: string): ServiceError {
  return new ServiceError(409, 'FileAlreadyExists', 'The object you specified already exists and can not be overwritten.', { Key: key });
}

function hostIdOf(bucket: string, region: string): string {
  return bucket === '' ? `oss-${region}.aliyuncs.com` : `${bucket}.oss-${region}.aliyuncs.com`;
}

function writeHeaders(etag: string, crc64: string | undefined, contentMd5?: string): Headers {
  const headers = new Headers({ etag });
  if (crc64 !== undefined) headers.set('x-oss-hash-crc64ecma', crc64);
  if (contentMd5 !== undefined) headers.set('content-md5', contentMd5);
  return headers;
}

function xmlResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: { 'content-type': 'application/xml' } });
}

function objectAnswer(request: Request, object: ObjectMeta, query: URLSearchParams, method: string): ObjectAnswer {
  const headers = objectHeaders(object);
  if (object.objectType === 'Appendable') headers.set('x-oss-next-append-position', String(object.size));
  if (evaluatePreconditions(request.headers, object.etag) === 'not-modified') return { status: 304, headers, start: 0, end: 0 };
  if (method === 'GET') applyResponseOverrides(headers, query);
  const range = resolveRange(request.headers, object.size);
  const start = range?.start ?? 0;
  const end = range === undefined ? object.size : range.end + 1;
  headers.set('content-length', String(end - start));
  if (range !== undefined) headers.set('content-range', `bytes ${range.start}-${range.end}/${object.size}`);
  return { status: range === undefined ? 200 : 206, headers, start, end };
}

/** Runs `use` on a version held open, and lets the version go however `use` ends. */
async function closing<T>(object: StoredObject, use: () => Promise<T>): Promise<T> {
  try {
    return await use();
  } finally {
    await object.close();
  }
}

/** Runs tasks one at a time per key, in arrival order; different keys do not wait for each other. */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
