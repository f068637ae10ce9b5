import * as z from 'zod/mini';

/** `index` of a result: where the layer's newest versions are published for readers, and what this decision did to it. */
export const indexOutcomeSchema = z.object({
  key: z.string(),
  listing: z.string(),
  /** `written`: this decision moved the index forward; `current`: it already named these versions or newer ones. */
  status: z.enum(['written', 'current', 'failed']),
  /** The versions this decision names, by region. */
  versions: z.record(z.string(), z.number()),
  error: z.optional(z.string()),
});
export type IndexOutcome = z.infer<typeof indexOutcomeSchema>;
