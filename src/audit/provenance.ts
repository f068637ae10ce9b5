import type { OssRecord } from '../events/oss-event';
import type { KeyRole } from '../keys';
import type { Provenance, Uploader } from '../result/document';

export type { Provenance, Uploader };

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
