import * as z from 'zod/mini';
import { REGION_ID, type RegionTarget } from '../config';
import { ConfigError, InvalidInputError } from '../errors';

/**
 * The manifest's optional `"regions": ["cn-shanghai"]`: which of the configured other regions this
 * layer goes to. Absent means all of `REGIONS`; `[]` means the home region only. The lead adds it
 * to the manifest schema as `regions: manifestRegionsField`.
 */
export const manifestRegionsField = z.optional(
  z
    .array(z.string().check(z.regex(REGION_ID, 'must be a region id such as cn-shanghai')))
    .check(z.refine((regions) => new Set(regions).size === regions.length, { message: 'lists a region more than once' })),
);

/**
 * The regions one upload is published to besides `homeRegion`, in `REGIONS` order: the manifest
 * may narrow the configuration, never widen it.
 */
export function selectRegionTargets(
  configured: readonly RegionTarget[],
  homeRegion: string,
  requested: readonly string[] | undefined,
  manifestKey: string,
): RegionTarget[] {
  const home = configured.find((target) => target.region === homeRegion);
  if (home !== undefined) {
    // Only now is the home region known; the home bucket is the trigger's, never a staging one.
    throw new ConfigError(
      `REGIONS entry ${JSON.stringify(home.source)} names ${homeRegion}, the region of this function and its trigger, ` +
        'which is always published: remove it',
    );
  }
  if (requested === undefined) return [...configured];
  const known = new Set(configured.map((target) => target.region));
  const unknown = requested.filter((region) => region !== homeRegion && !known.has(region));
  if (unknown.length > 0) {
    const listed = configured.length === 0 ? 'REGIONS is not set, so no other region is' : `REGIONS configures ${[...known].join(', ')}`;
    throw new InvalidInputError(
      'ManifestInvalid',
      `manifest ${manifestKey}: regions names ${unknown.join(', ')}, which this publisher does not publish to ` +
        `(${listed}; the home region is ${homeRegion}). A manifest can narrow REGIONS, not widen it`,
      { context: { key: manifestKey, field: 'regions', unknown, configured: [...known] } },
    );
  }
  const wanted = new Set(requested);
  return configured.filter((target) => wanted.has(target.region));
}
