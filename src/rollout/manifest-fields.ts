import * as z from 'zod/mini';
import { REGION_ID } from '../config';

/** FC's function and alias names: a letter or `_`, then letters, digits, `_` and `-`, at most 128 in all. */
export const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
/** A function name, or a glob on one (`*` any run of characters, `?` one). */
const FUNCTION_GLOB = /^[A-Za-z0-9_\-*?]{1,128}$/;

const functionPatterns = z
  .array(z.string().check(z.regex(FUNCTION_GLOB, 'must be a function name or a glob on one, such as api-* (letters, digits, _, -, * and ?)')))
  .check(
    z.minLength(1, { message: 'must name at least one function' }),
    z.refine((names) => new Set(names).size === names.length, { message: 'names a function more than once' }),
  );

/**
 * The manifest's `rollout`: the functions that take the new version, by name or glob; with `REGIONS`,
 * an object of region id to names moves functions in each region that published (docs/rollout.md).
 */
export const manifestRolloutField = z.optional(
  z.union([functionPatterns, z.record(z.string().check(z.regex(REGION_ID, 'must be a region id such as cn-shanghai')), functionPatterns)]),
);

/** The manifest's `canary`: the alias that sends `weight` of its traffic to a function version holding the new layer. */
export const manifestCanaryField = z.optional(
  z.strictObject({
    alias: z.string().check(z.regex(FUNCTION_NAME, 'must be an alias name: a letter or _, then letters, digits, _ and -, at most 128')),
    weight: z.number().check(
      z.refine((weight) => weight > 0 && weight < 1, {
        message: 'must be more than 0 and less than 1 (the share of the alias\u2019s traffic, e.g. 0.1 for 10 %); promote moves it fully',
      }),
    ),
  }),
);

export type RolloutSetting = NonNullable<z.infer<typeof manifestRolloutField>>;
export type CanarySetting = NonNullable<z.infer<typeof manifestCanaryField>>;

/** The names and globs a manifest's `rollout` gives for one region (`home` for the trigger's own). */
export function rolloutPatternsFor(setting: RolloutSetting, region: string): string[] {
  return Array.isArray(setting) ? setting : (setting[region] ?? []);
}
