import type { Manifest } from '../manifest/manifest';
import { sleep } from '../publish/deadline';
import type { PublishResult } from '../publish/result';
import { now, retryingIn, ttlMs, type Flow } from '../publish/steps/context';
import { rolloutNotice } from '../notify/notice';
import { sendNotices } from '../notify/notices';
import type { RolloutOutcome } from './outcome';
import { rollOut } from './rollout';

/**
 * The rollout as a follow-up of a settled decision, first or repeated: a redelivery runs it again,
 * and the ledger's markers make it finish what an earlier delivery left and repeat what it did.
 * Never throws: the publish is over and recorded.
 */
export async function followWithRollout(flow: Flow, settled: PublishResult, manifest: Manifest, uploadId: string): Promise<void> {
  const setup = flow.deps.rollout;
  if (setup === undefined || manifest.rollout === undefined) return;
  const { store, auditPrefix, deadline, retry, requestId } = flow.deps;
  const outcome = await rollOut(
    { result: settled, uploadId, rollout: manifest.rollout, canary: manifest.canary, homeRegion: setup.homeRegion() },
    {
      store,
      auditPrefix,
      resultKey: flow.input.keys.result,
      allowed: setup.allowed,
      functions: setup.functions,
      deadline,
      reserveMs: retry.reserveMs,
      retrying: retryingIn(flow),
      log: flow.log,
      now: () => now(flow),
      sleep,
      ttlMs: ttlMs(flow),
      requestId,
    },
  ).catch((error: unknown) => {
    flow.log.error('rollout.unexpected', { error });
    return undefined;
  });
  if (outcome !== undefined) await noticeOfRollout(flow, settled, manifest, outcome, setup.homeRegion());
}

/**
 * "Rollout done", once per region that moved a function: the notice's ledger marker makes a
 * redelivery, which repeats the rollout's outcome, send nothing more. Never throws.
 */
async function noticeOfRollout(flow: Flow, settled: PublishResult, manifest: Manifest, outcome: RolloutOutcome, homeRegion: string): Promise<void> {
  const settings = flow.deps.followUps;
  if (settings === undefined) return;
  const byRegion = new Map<string, RolloutOutcome['functions']>();
  for (const entry of outcome.functions) byRegion.set(entry.region ?? homeRegion, [...(byRegion.get(entry.region ?? homeRegion) ?? []), entry]);
  for (const [region, functions] of byRegion) {
    const moved = functions.filter((entry) => entry.status === 'updated');
    if (moved.length === 0) continue;
    const placed = region === homeRegion ? settled : settled.regions?.[region];
    if (placed?.version === undefined) continue;
    const notice = rolloutNotice({
      layerName: outcome.layerName,
      version: placed.version,
      region,
      ...(placed.arn === undefined ? {} : { arn: placed.arn }),
      functions: moved.map((entry) => entry.functionName),
      status: moved.length === functions.length ? 'done' : 'partly done',
      at: now(flow).toISOString(),
    });
    await sendNotices(notice, manifest.notify, {
      ledger: { store: flow.deps.store, auditPrefix: flow.deps.auditPrefix },
      notify: settings.notify,
      log: flow.log,
      now: () => now(flow),
      budgetMs: () => flow.deps.deadline.remainingMs() - flow.deps.retry.reserveMs,
    }).catch((error: unknown) => flow.log.warn('rollout.notice.failed', { error }));
  }
}
