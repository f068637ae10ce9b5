import { element, xmlDocument } from './oss-xml';

export interface BucketInfo {
  bucket: string;
  created: Date;
  accountId: string;
  /** Without the `oss-` prefix. */
  region: string;
}

/** GetBucketInfo, with the fields of OSS's example answer that hold for a local bucket. */
export function bucketInfoXml({ bucket, created, accountId, region }: BucketInfo): string {
  return xmlDocument('BucketInfo', [
    element('Bucket', [
      element('AccessMonitor', 'Disabled'),
      element('CreationDate', created.toISOString()),
      element('ExtranetEndpoint', `oss-${region}.aliyuncs.com`),
      element('IntranetEndpoint', `oss-${region}-internal.aliyuncs.com`),
      element('Location', `oss-${region}`),
      element('StorageClass', 'Standard'),
      element('TransferAcceleration', 'Disabled'),
      element('CrossRegionReplication', 'Disabled'),
      element('DataRedundancyType', 'LRS'),
      element('Name', bucket),
      element('Owner', [element('DisplayName', accountId), element('ID', accountId)]),
      element('AccessControlList', [element('Grant', 'private')]),
      element('ServerSideEncryptionRule', [element('SSEAlgorithm', 'None')]),
      element('BucketPolicy', [element('LogBucket', ''), element('LogPrefix', '')]),
    ]),
  ]);
}

/** GetBucketLocation: the region as OSS names it, with the `oss-` prefix. */
export function bucketLocationXml(region: string): string {
  return xmlDocument('LocationConstraint', [`oss-${region}`]);
}

/**
 * GetBucketAcl and GetObjectACL: the local bucket is private and its objects inherit that
 * (`default`), as a new bucket's are; nothing changes them, since PutBucketAcl and PutObjectACL are not served.
 */
export function aclXml(accountId: string, grant: 'private' | 'default'): string {
  return xmlDocument('AccessControlPolicy', [
    element('Owner', [element('ID', accountId), element('DisplayName', accountId)]),
    element('AccessControlList', [element('Grant', grant)]),
  ]);
}
