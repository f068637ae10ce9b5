import type { ClaimRecord, UploadLedger } from '../audit/ledger';
import type { InvalidInputError, PublisherError } from '../errors';
import type { Manifest } from '../manifest/manifest';
import type { PublishResult, RegionResult, SummaryEntry, Waiting } from './result';

/** The upload claimed by this delivery, in its ledger. */
export interface HeldClaim {
  ledger: UploadLedger;
  record: ClaimRecord;
}

/** A claim this delivery holds when its record ends, and why it would go (releaseClaim decides whether it may). */
export interface ClaimToLet {
  held: HeldClaim;
  reason: string;
  /** Other regions where this attempt's create had no answer: the claim stays, as for one at home. */
  createInDoubtIn?: readonly string[] | undefined;
}

/** Another delivery holds the upload, or a create of the same code may still land: it will write the result. */
export interface Busy {
  status: 'busy';
  reason: string;
}

/** How publishing the verified zip ended at home, beside what the other regions (`REGIONS`) left. */
export type Published = { spread?: Spread | undefined } & (
  | { kind: 'decided'; result: PublishResult }
  | { kind: 'busy'; busy: Busy }
  /** The home region threw (the other regions' entries stand beside it). */
  | { kind: 'failed'; error: unknown }
);

/** What publishing in the other regions (`REGIONS`) left beside the home region's decision. */
export interface Spread {
  /** Each region's entry, the home region's included. */
  regions: Record<string, RegionResult>;
  /** Regions that failed for now: the event must be delivered again for them. */
  unfinished: readonly string[];
  /** Of those, the ones where a create had no answer. */
  createInDoubt: readonly string[];
  /** A version whose codeChecksum was not this zip's was deleted in some region (another upload may have named it). */
  deletedVersion: boolean;
}

/** The upload as far as the flow identified it: its ledger, and its manifest once accepted. */
export interface UploadSeen {
  ledger: UploadLedger;
  manifest?: Manifest | undefined;
}

/**
 * How one record ends, as the steps hand it on: every expected end is one of these values, and
 * `decide` (src/publish/decide.ts) alone turns it into the result written, the claim's fate, the
 * audit record and whether the handler rejects. Exceptions are left for bugs and I/O; the one catch
 * in publishRecord turns them into `failed` (or `stale`) values too.
 */
export type Outcome =
  /** The pair is not whole: the `waiting` result names what is missing. */
  | { kind: 'waiting'; waiting: Waiting }
  /** The event names an object version no longer there: only an audit record; a held claim goes. */
  | { kind: 'stale'; claim?: ClaimToLet | undefined }
  /** Decided now under `held` (settled as `generation`), or repeated from the ledger (`held` absent). */
  | {
      kind: 'published' | 'unchanged';
      result: PublishResult;
      upload: UploadSeen & { manifest: Manifest };
      settle?: { held: HeldClaim; generation: number } | undefined;
      spread?: Spread | undefined;
    }
  /** A coded failure: its result, the claim let go (unless a create is in doubt), rejected when retryable. */
  | {
      kind: 'failed';
      failure: PublisherError;
      claim?: ClaimToLet | undefined;
      upload?: UploadSeen | undefined;
      /** The other regions, as far as they got: in the result; any left for now has the event come again. */
      spread?: Spread | undefined;
    }
  /** A record whose event fields are malformed: a result create-if-absent, never over another. */
  | { kind: 'invalid'; failure: InvalidInputError }
  /**
   * Not finished: Function Compute must deliver the event again. `result` is written first when
   * there is one to say how far the record got (regions still missing); none when another delivery
   * holds the upload or a create, whose own result will say.
   */
  | {
      kind: 'redeliver';
      reason: string;
      claim?: ClaimToLet | undefined;
      result?: { document: PublishResult; ledger: UploadLedger; spread?: Spread | undefined } | undefined;
    };

/** What the handler is told of one record: its summary entry, and why it rejects, if it must. */
export interface RecordDecision {
  entry: SummaryEntry;
  /** Set when the record must be delivered again (docs/contract.md §7): the rejection names it. */
  redeliver?: string | undefined;
}

/** A record that must be delivered again and wrote no result of its own. */
export function unfinished(key: string | null, message: string): RecordDecision {
  return { entry: { key, status: 'failed', error: { code: 'Unavailable', message, retryable: true } }, redeliver: message };
}
