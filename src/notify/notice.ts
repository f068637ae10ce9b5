import { createHash } from 'node:crypto';
import type { NoticeKind } from '../config';
import type { Decision } from '../follow-ups/decision';

/**
 * What a webhook receives as its JSON body (docs/index-and-notices.md), and what a DingTalk message
 * is written from. Never a credential: only what the result in the bucket says.
 */
export interface Notice {
  /** Stable for one decision: a receiver can drop a notice it has seen (also in a header). */
  id: string;
  kind: NoticeKind;
  layerName: string | undefined;
  /** One line in words, for people. */
  summary: string;
  regions: Array<{ region: string; status: string; version?: number | undefined; arn?: string | undefined }>;
  error?: { code: string; message: string } | undefined;
  source?: { bucket: string; key: string } | undefined;
  resultKey?: string | undefined;
  /** The decision's own fields, for kinds other than a decision (rollout, drift). */
  details?: Record<string, unknown> | undefined;
  at: string;
  requestId?: string | undefined;
}

/** The notice for a decision of the function. */
export function decisionNotice(decision: Decision): Notice {
  const { status, layerName, regions, error } = decision;
  const where = regions.map((r) => `${r.region}${r.version === undefined ? '' : ` v${r.version}`}${r.status === 'failed' ? ' (failed)' : ''}`).join(', ');
  const summary =
    status === 'failed'
      ? `${layerName ?? decision.source.key}: not published: ${error?.code ?? 'failed'}: ${error?.message ?? ''}`
      : `${layerName}: ${status === 'published' ? 'published' : 'unchanged'} ${where}`;
  return {
    id: noticeId([
      status,
      decision.uploadId ?? '',
      decision.resultKey,
      decision.source.etag ?? '',
      ...regions.map((r) => `${r.region}:${r.version ?? ''}`),
      error?.code ?? '',
    ]),
    kind: status,
    layerName,
    summary,
    regions: regions.map(({ region, status: regionStatus, version, arn }) => ({
      region,
      status: regionStatus,
      ...(version === undefined ? {} : { version }),
      ...(arn === undefined ? {} : { arn }),
    })),
    ...(error === undefined ? {} : { error: { code: error.code, message: error.message } }),
    source: { bucket: decision.source.bucket, key: decision.source.key },
    resultKey: decision.resultKey,
    at: decision.decidedAt,
    requestId: decision.requestId,
  };
}

/**
 * The notice a rollout sends when it is done (the rollout's own module calls this, then
 * `sendNotices`): `done` says what moved, in the rollout's words.
 */
export function rolloutNotice(rollout: {
  layerName: string;
  version: number;
  region: string;
  arn?: string;
  functions: readonly string[];
  status: string;
  at: string;
}): Notice {
  const moved = rollout.functions.length;
  return {
    id: noticeId(['rollout', rollout.layerName, rollout.region, String(rollout.version), rollout.status]),
    kind: 'rollout',
    layerName: rollout.layerName,
    summary: `${rollout.layerName}: rollout of v${rollout.version} in ${rollout.region} ${rollout.status} (${moved} function${moved === 1 ? '' : 's'})`,
    regions: [{ region: rollout.region, status: rollout.status, version: rollout.version, ...(rollout.arn === undefined ? {} : { arn: rollout.arn }) }],
    details: { functions: [...rollout.functions] },
    at: rollout.at,
  };
}

/** The notice `layer-publisher verify --notify` sends when it finds drift. */
export function driftNotice(drift: readonly { layerName: string; version: number; kind: string; message: string }[], at: string): Notice {
  const layers = [...new Set(drift.map((d) => d.layerName))];
  return {
    id: noticeId(['drift', ...drift.map((d) => `${d.layerName}:${d.version}:${d.kind}`)]),
    kind: 'drift',
    layerName: layers.length === 1 ? layers[0] : undefined,
    summary: `drift: ${drift.length} version${drift.length === 1 ? '' : 's'} of ${layers.join(', ')} differ from the audit trail`,
    regions: [],
    details: { drift: drift.map(({ layerName, version, kind, message }) => ({ layerName, version, kind, message })) },
    at,
  };
}

function noticeId(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** A DingTalk markdown message: the summary as title, then the facts a person acts on. */
export function dingTalkMessage(notice: Notice): { msgtype: 'markdown'; markdown: { title: string; text: string } } {
  const lines = [`#### ${notice.summary}`];
  for (const region of notice.regions)
    lines.push(
      `- ${region.region}: ${region.status}${region.version === undefined ? '' : ` v${region.version}`}${region.arn === undefined ? '' : `, \`${region.arn}\``}`,
    );
  if (notice.error !== undefined) lines.push(`- error: ${notice.error.code}: ${notice.error.message}`);
  if (notice.resultKey !== undefined && notice.source !== undefined) lines.push(`- result: oss://${notice.source.bucket}/${notice.resultKey}`);
  return { msgtype: 'markdown', markdown: { title: notice.summary.slice(0, 64), text: lines.join('\n') } };
}
