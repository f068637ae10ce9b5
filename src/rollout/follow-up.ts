import type { Manifest } from '../manifest/manifest';
import { sleep } from '../publish/deadline';
import type { PublishResult } from '../publish/result';
import { now, retryingIn, ttlMs, type Flow } from '../publish/steps/context';
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
  await rollOut(
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
  ).catch((error: unknown) => flow.log.error('rollout.unexpected', { error }));
}
