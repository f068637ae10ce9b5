import { PublisherError } from '../../errors';
import type { SummaryEntry } from '../result';

/** Another delivery holds the upload past this invocation's time; the handler rejects so FC retries. */
export class BusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusyError';
  }
}

/** A CreateLayerVersion without an answer: a version may appear at any moment, so none is made again. */
export class CreateInDoubtError extends PublisherError {
  constructor(message: string, options?: { cause?: unknown }) {
    // Not a TransientError: retrying it is exactly what must not happen.
    super('Unavailable', `${message}; a version it made will be adopted by the next delivery`, { ...options, retryable: true });
    this.name = 'CreateInDoubtError';
  }
}

/** No result could be written without risking a newer upload's; the handler rejects so FC delivers again. */
export class ResultUnwritableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResultUnwritableError';
  }
}

/** The record's result was written as a retryable failure; the handler must reject (docs/contract.md §7). */
export class RetryableRecordError extends Error {
  constructor(
    readonly entry: SummaryEntry,
    readonly failure: PublisherError,
  ) {
    super(failure.message, { cause: failure });
    this.name = 'RetryableRecordError';
  }
}
