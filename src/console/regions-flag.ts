/**
 * `--regions cn-shanghai,cn-beijing`: the other regions a publisher publishes to, as `npm start` and
 * `layer-publisher check` take them.
 */
import { REGION_ID } from '../config';
import { FC_REGION_IDS } from '../regions/fc-region-ids';
import { didYouMean } from './args';
import { CliError } from './io';

export const REGIONS_EXAMPLE = 'e.g. --regions cn-shanghai,cn-beijing';

/**
 * The region ids of `--regions`, in the order written. Every mistake is one line naming the entry:
 * the home region is always published, so naming it is a mistake too (as in REGIONS).
 */
export function parseRegionsFlag(raw: string, homeRegion: string): string[] {
  if (raw.trim() === '') throw new CliError(`--regions is empty: name the other regions to publish to, ${REGIONS_EXAMPLE}`);
  const seen = new Map<string, number>();
  return raw.split(',').map((entry, index) => {
    const region = entry.trim();
    const at = `--regions entry ${index + 1}`;
    if (region === '') throw new CliError(`${at} is empty: remove the extra comma (${REGIONS_EXAMPLE})`);
    const quoted = `${at} (${JSON.stringify(region)})`;
    if (!REGION_ID.test(region)) {
      const hint = region.startsWith('oss-') ? ` (without the oss- prefix: ${region.slice(4)})` : '';
      throw new CliError(`${quoted} is not a region id such as cn-shanghai${hint}`);
    }
    if (!FC_REGION_IDS.includes(region)) {
      const hint = didYouMean(region, FC_REGION_IDS);
      throw new CliError(`${quoted} is not a region Function Compute serves${hint || ` (regions: ${FC_REGION_IDS.join(', ')})`}`);
    }
    if (region === homeRegion) {
      throw new CliError(`${quoted} is the home region: the home bucket is in ${homeRegion}, which is always published; name only the other regions`);
    }
    const earlier = seen.get(region);
    if (earlier !== undefined) throw new CliError(`${quoted} names ${region} again (entry ${earlier}): each region once`);
    seen.set(region, index + 1);
    return region;
  });
}
