import * as z from 'zod/mini';
import { NOTICE_KINDS } from '../config';

/** One target's answer to one notice. */
export const deliverySchema = z.object({
  status: z.enum(['sent', 'failed']),
  attempts: z.number(),
  /** HTTP status of the last answer, when there was one. */
  httpStatus: z.optional(z.number()),
  error: z.optional(z.string()),
});
export type Delivery = z.infer<typeof deliverySchema>;

/**
 * `sent` / `failed`: this invocation sent it (or tried); `skipped`: the manifest's `notify` left
 * the target out; `unknown`: an earlier delivery began sending and recorded no answer (it is
 * never sent twice).
 */
export const targetOutcomeSchema = z.union([deliverySchema, z.object({ status: z.enum(['skipped', 'unknown']), reason: z.string() })]);
export type TargetOutcome = z.infer<typeof targetOutcomeSchema>;

/** `notices` of a result: the notice this decision sent, and to whom. */
export const noticesOutcomeSchema = z.object({
  id: z.string(),
  kind: z.enum(NOTICE_KINDS),
  targets: z.record(z.string(), targetOutcomeSchema),
});
export type NoticesOutcome = z.infer<typeof noticesOutcomeSchema>;
