import type { NoticeKind } from '../config';

export interface Delivery {
  status: 'sent' | 'failed';
  attempts: number;
  /** HTTP status of the last answer, when there was one. */
  httpStatus?: number;
  error?: string;
}

/** `notices` of a result: the notice this decision sent, and to whom. */
export interface NoticesOutcome {
  id: string;
  kind: NoticeKind;
  targets: Record<string, TargetOutcome>;
}

/**
 * `sent` / `failed`: this invocation sent it (or tried); `skipped`: the manifest's `notify` left
 * the target out; `unknown`: an earlier delivery began sending and recorded no answer (it is
 * never sent twice).
 */
export type TargetOutcome = Delivery | { status: 'skipped'; reason: string } | { status: 'unknown'; reason: string };
