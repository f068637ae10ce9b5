import type { NoticeTarget, NotifyConfig } from '../config';
import { noticeKeys } from '../audit/layout';
import { readMarker } from '../audit/marker';
import type { Logger } from '../log/logger';
import type { ObjectStore } from '../oss/store';
import type { Notice } from './notice';
import { deliverySchema, type Delivery, type NoticesOutcome, type TargetOutcome } from './outcome';
import { deliver } from './send';

export interface NoticeDeps {
  /** Where each notice's markers go; without it (a person running `verify --notify`) each call sends. */
  ledger: { store: ObjectStore; auditPrefix: string } | undefined;
  notify: NotifyConfig;
  log: Logger;
  now: () => Date;
  /** How long all the targets together may take: never more than what the invocation can spare. */
  budgetMs: () => number;
}

/** Every notice at most this long in all, whatever time the invocation has. */
export const MAX_NOTICE_MS = 10_000;

/**
 * Sends the notice to each configured target `only` allows (a manifest's `notify` narrows, never
 * adds), once per notice id: a marker `<AUDIT_PREFIX>notices/<id>/<target>.json` is created before
 * sending, so a redelivery that finds it sends nothing; the answer is recorded beside it as
 * `<target>.outcome.json`. Returns undefined when the kind is not in NOTIFY_ON or no target is set.
 * Never throws: a notice must not fail what it reports.
 */
export async function sendNotices(notice: Notice, only: readonly string[] | undefined, deps: NoticeDeps): Promise<NoticesOutcome | undefined> {
  const { targets, on } = deps.notify;
  if (targets.length === 0 || !on.includes(notice.kind)) return undefined;
  const outcome: NoticesOutcome = { id: notice.id, kind: notice.kind, targets: {} };
  // The targets share one budget, side by side: however many there are, the wait is bounded once.
  const budgetMs = Math.max(0, Math.min(MAX_NOTICE_MS, deps.budgetMs()));
  const sent = await Promise.all(
    targets.map(async (target): Promise<[string, TargetOutcome]> => {
      if (only !== undefined && !only.includes(target.name)) return [target.name, { status: 'skipped', reason: 'not in the manifest\u2019s notify' }];
      try {
        return [target.name, await sendOnce(notice, target, budgetMs, deps)];
      } catch (error) {
        // The ledger could not be read or written: sending blind could send twice, so nothing is sent.
        const message = `not sent: the notice's marker could not be written: ${error instanceof Error ? error.message : String(error)}`;
        return [target.name, { status: 'failed', attempts: 0, error: deps.log.redact(message) }];
      }
    }),
  );
  for (const [name, targetOutcome] of sent) {
    outcome.targets[name] = targetOutcome;
    deps.log.info('notice.done', { id: notice.id, kind: notice.kind, target: name, ...targetOutcome });
  }
  return outcome;
}

async function sendOnce(notice: Notice, target: NoticeTarget, budgetMs: number, deps: NoticeDeps): Promise<TargetOutcome> {
  const { ledger } = deps;
  if (ledger === undefined) return send(notice, target, budgetMs, deps);
  const { store } = ledger;
  const keys = noticeKeys(ledger.auditPrefix, notice.id, target.name);
  const recorded = await readOutcome(store, keys.outcome);
  if (recorded !== undefined) return recorded;
  const marker = { id: notice.id, kind: notice.kind, target: target.name, layerName: notice.layerName, startedAt: deps.now().toISOString() };
  const created = await store.put(keys.marker, JSON.stringify(marker), { contentType: 'application/json', forbidOverwrite: true });
  if (created === 'exists') {
    // Another delivery is sending it now, or died while it was: at most once, so not again.
    return (await readOutcome(store, keys.outcome)) ?? { status: 'unknown', reason: 'an earlier delivery began sending it and recorded no answer' };
  }
  const delivery = await send(notice, target, budgetMs, deps);
  await store
    .put(keys.outcome, JSON.stringify({ ...delivery, at: deps.now().toISOString() }), { contentType: 'application/json', forbidOverwrite: true })
    .catch((error: unknown) => deps.log.warn('notice.outcome.unrecorded', { id: notice.id, target: target.name, error }));
  return delivery;
}

async function send(notice: Notice, target: NoticeTarget, budgetMs: number, deps: NoticeDeps): Promise<Delivery> {
  const delivery = deps.log.redact(await deliver(notice, target, budgetMs, deps.now));
  if (delivery.status === 'failed') deps.log.warn('notice.failed', { id: notice.id, target: target.name, error: delivery.error });
  return delivery;
}

/** A recorded answer is a few hundred bytes; a bigger object at its key was not written by the publisher. */
const MAX_OUTCOME_BYTES = 64 * 1024;

/**
 * The answer recorded for a notice. One that cannot be read counts as absent: the marker beside it
 * then says the notice was begun, so it is reported `unknown` and never sent again.
 */
async function readOutcome(store: ObjectStore, key: string): Promise<TargetOutcome | undefined> {
  return (await readMarker(store, key, deliverySchema, MAX_OUTCOME_BYTES))?.value;
}
