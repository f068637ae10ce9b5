import type { OssRecord } from '../events/oss-event';
import type { KeyRole } from '../keys';
import { sameEtag, type ObjectStore } from '../oss/store';

/**
 * Who put one object of an upload in the bucket, as its OSS event said. Only what OSS puts in the
 * event: an account or RAM principal id, an IP, a request id and a time; never a credential.
 */
export interface Uploader {
  principalId?: string;
  sourceIp?: string;
  ossRequestId?: string;
  eventTime?: string;
}

/** `provenance` of a result and its audit record (read back by src/report/trail.ts). */
export interface Provenance {
  zip?: Uploader;
  manifest?: Uploader;
  /** The function invocation that handled the event. */
  functionRequestId: string;
  /** FC's request id of the CreateLayerVersion call, when this invocation made the version. */
  fcRequestId?: string;
}

/** The uploader an event record names; undefined when it names none of it (a hand-written replay). */
export function uploaderOf(record: OssRecord): Uploader | undefined {
  const uploader: Uploader = {};
  const fields = {
    principalId: record.userIdentity?.principalId,
    sourceIp: record.requestParameters?.sourceIPAddress,
    ossRequestId: record.responseElements?.requestId,
    eventTime: record.eventTime,
  };
  for (const [name, value] of Object.entries(fields) as [keyof Uploader, string | undefined][]) {
    if (value !== undefined && value !== '') uploader[name] = value;
  }
  return Object.keys(uploader).length > 0 ? uploader : undefined;
}

export function provenanceOf(fields: {
  role: KeyRole;
  uploader: Uploader | undefined;
  functionRequestId: string;
  fcRequestId: string | undefined;
}): Provenance {
  return {
    ...(fields.uploader === undefined ? {} : { [fields.role]: fields.uploader }),
    functionRequestId: fields.functionRequestId,
    ...(fields.fcRequestId === undefined ? {} : { fcRequestId: fields.fcRequestId }),
  };
}

interface Described {
  status: string;
  source: { etag?: string };
  manifest?: { etag?: string };
  provenance?: Partial<Provenance>;
}

/**
 * The other object's uploader, from the `waiting` result its own event left at the result key, when
 * that result describes the very object version this upload has (same ETag): an upload's zip and
 * manifest come with two events, and the first may have ended before the second object landed.
 * Anything else, or a failed read, tells nothing.
 */
export async function uploaderFromWaiting(
  store: ObjectStore,
  resultKey: string,
  role: KeyRole,
  etag: string,
  maxBytes: number,
): Promise<Uploader | undefined> {
  const previous = await readResult(store, resultKey, maxBytes);
  const uploader = previous?.provenance?.[role];
  if (previous?.status !== 'waiting' || uploader === undefined || typeof uploader !== 'object') return undefined;
  // The waiting result saw only its own object: that one must be the object this upload names.
  const seen = role === 'zip' ? previous.source?.etag : previous.manifest?.etag;
  return seen !== undefined && sameEtag(seen, etag) ? pickUploader(uploader) : undefined;
}

async function readResult(store: ObjectStore, key: string, maxBytes: number): Promise<Partial<Described> | undefined> {
  try {
    const read = await store.read(key, maxBytes);
    if (read === undefined || 'tooLarge' in read) return undefined;
    const parsed: unknown = JSON.parse(read.body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Partial<Described>) : undefined;
  } catch {
    // Provenance is a courtesy: an unreadable earlier result must not stop this upload.
    return undefined;
  }
}

/** Only the four known string fields: a result in the bucket is anyone's to write. */
function pickUploader(value: object): Uploader {
  const record = value as Record<string, unknown>;
  const uploader: Uploader = {};
  for (const name of ['principalId', 'sourceIp', 'ossRequestId', 'eventTime'] as const) {
    const field = record[name];
    if (typeof field === 'string' && field !== '') uploader[name] = field;
  }
  return uploader;
}
