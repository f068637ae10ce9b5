import type { PublishResult } from '../result';
import { retrying, type Flow } from './context';
import { releaseClaim } from './claim';
import type { HeldClaim } from '../outcome';

/** The upload's outcome recorded in its ledger (as `generation`), and the claim let go. */
export async function settle(flow: Flow, held: HeldClaim, result: PublishResult, generation: number): Promise<PublishResult> {
  const settled = await retrying(flow, 'settle', () => held.ledger.settle(result, generation));
  await releaseClaim(flow, { held, reason: 'settled' });
  return settled.result;
}
