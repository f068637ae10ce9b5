import type { ObjectMeta } from './oss-storage';
import { unquote } from './oss-xml';

/**
 * The event names OSS gives a created object; the trigger configuration adds an `oss:` prefix.
 * The emulator fires one per successful PutObject, CopyObject, CompleteMultipartUpload and
 * AppendObject (each append, the object possibly incomplete: the publisher ignores it, and firing it
 * lets that be seen locally). InitiateMultipartUpload and UploadPart events are not fired: they
 * never name a whole object, and s.yaml's triggers do not subscribe to them.
 */
export type ObjectCreatedEventName =
  | 'ObjectCreated:PutObject'
  | 'ObjectCreated:PostObject'
  | 'ObjectCreated:CopyObject'
  | 'ObjectCreated:CompleteMultipartUpload'
  | 'ObjectCreated:AppendObject'
  | 'ObjectCreated:PutSymlink';

/** One record of `events[]`, shaped as in test/events/fixtures/put-zip.json (docs/reference/alibaba-cloud.md §1.1). */
export interface OssEventRecord {
  eventName: ObjectCreatedEventName;
  eventSource: 'acs:oss';
  eventTime: string;
  eventVersion: '1.0';
  oss: {
    bucket: { arn: string; name: string; ownerIdentity: string; virtualBucket: string };
    object: { deltaSize: number; eTag: string; key: string; size: number };
    ossSchemaVersion: '1.0';
    ruleId: string;
  };
  region: string;
  requestParameters: { sourceIPAddress: string };
  responseElements: { requestId: string };
  userIdentity: { principalId: string };
}

export interface ObjectCreation {
  eventName: ObjectCreatedEventName;
  bucket: string;
  key: string;
  meta: ObjectMeta;
  /** Size change against the object it replaced (its whole size when it is new). */
  deltaSize: number;
  requestId: string;
  region: string;
  accountId: string;
}

/** A fixed rule id: the emulator has one notification rule, the trigger that listens. */
const EMULATOR_RULE_ID = 'oss-emulator-rule';

export function objectCreatedRecord(creation: ObjectCreation): OssEventRecord {
  const { bucket, meta, region, accountId } = creation;
  return {
    eventName: creation.eventName,
    eventSource: 'acs:oss',
    eventTime: meta.lastModified.toISOString(),
    eventVersion: '1.0',
    oss: {
      bucket: { arn: `acs:oss:${region}:${accountId}:${bucket}`, name: bucket, ownerIdentity: accountId, virtualBucket: '' },
      // The event's eTag is the header's value without quotes (docs/reference/alibaba-cloud.md §0.5); the key is verbatim.
      object: { deltaSize: creation.deltaSize, eTag: unquote(meta.etag), key: creation.key, size: meta.size },
      ossSchemaVersion: '1.0',
      ruleId: EMULATOR_RULE_ID,
    },
    region,
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { requestId: creation.requestId },
    userIdentity: { principalId: accountId },
  };
}
