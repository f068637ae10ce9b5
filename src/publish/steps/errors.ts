import { PublisherError } from '../../errors';

/** A CreateLayerVersion without an answer: a version may appear at any moment, so none is made again. */
export class CreateInDoubtError extends PublisherError {
  constructor(message: string, options?: { cause?: unknown }) {
    // Not a TransientError: retrying it is exactly what must not happen.
    super('Unavailable', `${message}; a version it made will be adopted by the next delivery`, { ...options, retryable: true });
    this.name = 'CreateInDoubtError';
  }
}
