/**
 * Which OSS API operation a request is, named as OSS's API reference names it, so whatever the
 * local OSS does not serve is refused by that name.
 */

/** The operations the emulator serves. */
export type ServedOperation =
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'GetBucketInfo'
  | 'GetBucketLocation'
  | 'GetBucketAcl'
  | 'ListMultipartUploads'
  | 'PutObject'
  | 'CopyObject'
  | 'AppendObject'
  | 'GetObject'
  | 'HeadObject'
  | 'GetObjectMeta'
  | 'GetObjectACL'
  | 'DeleteObject'
  | 'InitiateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts';

export const SERVED_OPERATIONS: readonly ServedOperation[] = [
  'ListObjects',
  'ListObjectsV2',
  'GetBucketInfo',
  'GetBucketLocation',
  'GetBucketAcl',
  'ListMultipartUploads',
  'PutObject',
  'CopyObject',
  'AppendObject',
  'GetObject',
  'HeadObject',
  'GetObjectMeta',
  'GetObjectACL',
  'DeleteObject',
  'InitiateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
];

interface Rule {
  method: string;
  /** The sub-resource that names the operation; '' for none. */
  sub: string;
  name: string;
}

/**
 * Sub-resources that select an operation, in the order they are looked for: `uploadId` before
 * `partNumber`, since UploadPart carries both. Anything else in the query (prefix, position,
 * response-*, versionId…) is a parameter of the operation.
 */
const OPERATION_SUBRESOURCES = [
  'uploadId',
  'uploads',
  'append',
  'acl',
  'symlink',
  'tagging',
  'restore',
  'bucketInfo',
  'location',
  'stat',
  'objectMeta',
  'delete',
  'cors',
  'lifecycle',
  'logging',
  'website',
  'referer',
  'policy',
  'versioning',
  'versions',
  'encryption',
  'replication',
  'inventory',
  'worm',
  'qos',
  'requestPayment',
  'transferAcceleration',
  'cname',
  'x-oss-process',
  'live',
  'comp',
  'x-oss-async-process',
  'metaQuery',
  'accessPoint',
  'resourceGroup',
];

const BUCKET_RULES: readonly Rule[] = [
  { method: 'GET', sub: '', name: 'ListObjects' },
  { method: 'GET', sub: 'uploads', name: 'ListMultipartUploads' },
  { method: 'GET', sub: 'bucketInfo', name: 'GetBucketInfo' },
  { method: 'GET', sub: 'location', name: 'GetBucketLocation' },
  { method: 'GET', sub: 'stat', name: 'GetBucketStat' },
  { method: 'GET', sub: 'acl', name: 'GetBucketAcl' },
  { method: 'PUT', sub: 'acl', name: 'PutBucketAcl' },
  { method: 'PUT', sub: '', name: 'PutBucket' },
  { method: 'DELETE', sub: '', name: 'DeleteBucket' },
  { method: 'POST', sub: 'delete', name: 'DeleteMultipleObjects' },
  { method: 'POST', sub: '', name: 'PostObject' },
  { method: 'GET', sub: 'versions', name: 'ListObjectVersions' },
  { method: 'GET', sub: 'versioning', name: 'GetBucketVersioning' },
  { method: 'PUT', sub: 'versioning', name: 'PutBucketVersioning' },
  { method: 'GET', sub: 'lifecycle', name: 'GetBucketLifecycle' },
  { method: 'PUT', sub: 'lifecycle', name: 'PutBucketLifecycle' },
  { method: 'GET', sub: 'cors', name: 'GetBucketCors' },
  { method: 'PUT', sub: 'cors', name: 'PutBucketCors' },
  { method: 'GET', sub: 'policy', name: 'GetBucketPolicy' },
  { method: 'PUT', sub: 'policy', name: 'PutBucketPolicy' },
  { method: 'GET', sub: 'tagging', name: 'GetBucketTags' },
  { method: 'PUT', sub: 'tagging', name: 'PutBucketTags' },
  { method: 'GET', sub: 'encryption', name: 'GetBucketEncryption' },
  { method: 'GET', sub: 'logging', name: 'GetBucketLogging' },
  { method: 'GET', sub: 'website', name: 'GetBucketWebsite' },
  { method: 'GET', sub: 'referer', name: 'GetBucketReferer' },
  { method: 'GET', sub: 'worm', name: 'GetBucketWorm' },
  { method: 'GET', sub: 'replication', name: 'GetBucketReplication' },
  { method: 'GET', sub: 'inventory', name: 'GetBucketInventory' },
];

const OBJECT_RULES: readonly Rule[] = [
  { method: 'GET', sub: '', name: 'GetObject' },
  { method: 'HEAD', sub: '', name: 'HeadObject' },
  { method: 'HEAD', sub: 'objectMeta', name: 'GetObjectMeta' },
  { method: 'PUT', sub: '', name: 'PutObject' },
  { method: 'DELETE', sub: '', name: 'DeleteObject' },
  { method: 'POST', sub: 'append', name: 'AppendObject' },
  { method: 'POST', sub: 'uploads', name: 'InitiateMultipartUpload' },
  { method: 'PUT', sub: 'uploadId', name: 'UploadPart' },
  { method: 'POST', sub: 'uploadId', name: 'CompleteMultipartUpload' },
  { method: 'DELETE', sub: 'uploadId', name: 'AbortMultipartUpload' },
  { method: 'GET', sub: 'uploadId', name: 'ListParts' },
  { method: 'GET', sub: 'acl', name: 'GetObjectACL' },
  { method: 'PUT', sub: 'acl', name: 'PutObjectACL' },
  { method: 'PUT', sub: 'symlink', name: 'PutSymlink' },
  { method: 'GET', sub: 'symlink', name: 'GetSymlink' },
  { method: 'GET', sub: 'tagging', name: 'GetObjectTagging' },
  { method: 'PUT', sub: 'tagging', name: 'PutObjectTagging' },
  { method: 'DELETE', sub: 'tagging', name: 'DeleteObjectTagging' },
  { method: 'POST', sub: 'restore', name: 'RestoreObject' },
  { method: 'GET', sub: 'x-oss-process', name: 'GetObject with x-oss-process (image or document processing)' },
  { method: 'POST', sub: 'x-oss-process', name: 'ProcessObject' },
  { method: 'OPTIONS', sub: '', name: 'OptionObject' },
];

export interface OperationRequest {
  method: string;
  /** Empty for a request to the service itself (no bucket). */
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: Headers;
}

/** The operation's name in OSS's terms, or a description of the request when OSS has none for it. */
export function identifyOperation({ method, bucket, key, query, headers }: OperationRequest): string {
  if (bucket === '') return method === 'GET' ? 'ListBuckets (GetService)' : `${method} without a bucket`;
  const sub = OPERATION_SUBRESOURCES.find((name) => query.has(name)) ?? '';
  const rules = key === '' ? BUCKET_RULES : OBJECT_RULES;
  const rule = rules.find((candidate) => candidate.method === method && candidate.sub === sub);
  if (rule === undefined) return `${method} ${key === '' ? 'on a bucket' : 'on an object'}${sub === '' ? '' : ` with ?${sub}`}`;
  const copySource = headers.has('x-oss-copy-source');
  if (rule.name === 'PutObject' && copySource) return 'CopyObject';
  if (rule.name === 'UploadPart' && copySource) return 'UploadPartCopy';
  if (rule.name === 'ListObjects' && query.get('list-type') === '2') return 'ListObjectsV2';
  return rule.name;
}

export function isServed(operation: string): operation is ServedOperation {
  return (SERVED_OPERATIONS as readonly string[]).includes(operation);
}
