import type { UploadLedger } from '../../audit/ledger';
import { writeAuditRecord } from '../../audit/records';
import { ConfigError, PublisherError, TransientError, type InvalidInputError } from '../../errors';
import type { PublishResult, SummaryEntry } from '../result';
import { writeResultDocument } from '../../result/document';
import { summaryOf } from '../result';
import { eventInfo, now, provenance, resultOf, retrying, sourceOf, type Flow } from './context';
import type { HeldClaim } from '../outcome';
import { audit } from './result';

/**
 * One failure is one decision: the zip's and the manifest's events meeting the same refusal (and
 * their redeliveries) repeat the first one's result, and its audit record is written once. A
 * retryable failure is its attempt's own: a later attempt may pass. Without a ledger (the pair was
 * never whole) the result is this event's; a ledger that cannot be written leaves it so too.
 */
export async function decideFailure(flow: Flow, result: PublishResult, claim: HeldClaim | undefined, ledger: UploadLedger | undefined): Promise<PublishResult> {
  const { error } = result;
  if (ledger === undefined || error === undefined) return result;
  const what = JSON.stringify([error.code, error.message, error.retryable ? (claim?.record.attempt ?? 0) : 'final']);
  try {
    const first = await retrying(flow, 'ledger.failure', () => ledger.recordFailure(what, result), true);
    return { ...first, event: eventInfo(flow) };
  } catch (caught) {
    flow.log.warn('ledger.failure.failed', { error: caught });
    return result;
  }
}

/** The event names an object version that is no longer there: only an audit record says so. */
export async function stale(flow: Flow): Promise<SummaryEntry> {
  const { input, deps, facts } = flow;
  const current = input.role === 'zip' ? facts.source.etag : facts.manifestInfo?.etag;
  flow.log.info('event.stale', { eventETag: input.eventETag, currentETag: current });
  const record = {
    status: 'stale',
    event: eventInfo(flow),
    source: sourceOf(flow),
    eventETag: input.eventETag,
    currentETag: current,
    provenance: provenance(flow, undefined),
    requestId: deps.requestId,
    startedAt: flow.startedAt.toISOString(),
    finishedAt: now(flow).toISOString(),
  };
  // The audit record is a courtesy: a stale event has nothing to lose if it cannot be written.
  await retrying(flow, 'audit.write', () => writeAuditRecord(deps.store, deps.auditPrefix, 'stale', record)).catch((error: unknown) =>
    flow.log.warn('audit.write.failed', { error }),
  );
  return { key: input.eventKey, status: 'stale' };
}

/**
 * A malformed record still gets a result that says which field, but only where there is none:
 * a replayed record missing its eTag must not turn a published result into a failure.
 */
export async function reportInvalid(flow: Flow, error: InvalidInputError): Promise<SummaryEntry> {
  const { input, deps } = flow;
  flow.log.error('record.failed', { error, context: error.context });
  const result = resultOf(flow, { status: 'failed', error });
  const written = await retrying(flow, 'result.write', () => writeResultDocument(deps.store, input.keys.result, result, { forbidOverwrite: true }), true);
  const auditKey = await audit(flow, written === 'created' ? 'result' : 'invalid', result, undefined);
  flow.log.info(written === 'created' ? 'result.written' : 'result.kept', {
    status: result.status,
    errorCode: error.code,
    resultKey: input.keys.result,
    auditKey,
  });
  return summaryOf(input.eventKey, result);
}

/** What a result says of an exception: a coded failure as it is, anything else as a transient one. */
export function failureOf(error: unknown): PublisherError {
  if (error instanceof PublisherError) return error;
  // A setting this record needs is wrong (REGIONS naming the home region): fixed, a delivery passes.
  if (error instanceof ConfigError) return new TransientError(`configuration: ${error.message}`, { cause: error });
  // A bug or an unforeseen SDK failure: say so, and let the platform deliver the event again.
  return new TransientError(`unexpected failure: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}
