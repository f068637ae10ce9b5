/**
 * `npm start -- --regions cn-shanghai,cn-beijing`: the other regions the local stack serves, each
 * with its own OSS (one staging bucket) and Function Compute, and the variables that point the
 * handler at them.
 */
import { join } from 'node:path';
import { CliError } from '../console/io';
import { REGIONS_EXAMPLE } from '../console/regions-flag';
import { BUCKET_NAME } from '../events/oss-event';

/** One extra region as the stack starts it. A port of 0 picks a free one. */
export interface LocalRegionPlan {
  region: string;
  /** The staging bucket the handler copies the zip into there. */
  bucket: string;
  /** Its own data folder: `<data>/regions/<region>/` (bucket folder, `.oss-meta/`, layers.json, functions.json). */
  dataDir: string;
  ossPort: number;
  fcPort: number;
}

/** A region as it runs: its plan and where it listens. */
export interface LocalRegionEndpoints {
  region: string;
  bucket: string;
  ossUrl: string;
  fcUrl: string;
}

/** Under the data folder; a home bucket of this name would hold the regions' folders, so it is refused with --regions. */
export const REGIONS_FOLDER = 'regions';
/** Region n (from 1, in the order named) listens on --port + n × this, and its FC on the port after. */
export const REGION_PORT_STEP = 10;

/** The staging bucket of a region: the home bucket's name with the region's after it. */
export function stagingBucketName(homeBucket: string, region: string): string {
  return `${homeBucket}-${region}`;
}

/**
 * Where each region keeps its data and listens, derived from the home options so two stacks with
 * different --port values never collide. Refuses what cannot work: a staging bucket name OSS would
 * refuse, a port past 65535, a home bucket whose folder would be the regions' folder.
 */
export function planRegions(regions: readonly string[], home: { bucket: string; dataDir: string; ossPort: number }): LocalRegionPlan[] {
  if (regions.length > 0 && home.bucket === REGIONS_FOLDER) {
    throw new CliError(
      `--bucket ${REGIONS_FOLDER} cannot be used with --regions: <data>/${REGIONS_FOLDER}/ holds the regions' data; choose another bucket name`,
    );
  }
  return regions.map((region, index) => {
    const bucket = stagingBucketName(home.bucket, region);
    if (!BUCKET_NAME.test(bucket)) {
      throw new CliError(
        `--regions entry ${index + 1} (${JSON.stringify(region)}): its staging bucket ${JSON.stringify(bucket)} would be longer than 63 characters; choose a shorter --bucket`,
      );
    }
    const ossPort = home.ossPort === 0 ? 0 : home.ossPort + REGION_PORT_STEP * (index + 1);
    if (ossPort + 1 > 65535) {
      throw new CliError(
        `--regions entry ${index + 1} (${JSON.stringify(region)}) would listen on port ${ossPort} (--port + ${REGION_PORT_STEP * (index + 1)}), past 65535; choose a lower --port`,
      );
    }
    return { region, bucket, dataDir: join(home.dataDir, REGIONS_FOLDER, region), ossPort, fcPort: ossPort === 0 ? 0 : ossPort + 1 };
  });
}

/** The variables `npm start` sets itself: one set in the shell would point the local handler at the cloud's regions. */
export const STACK_REGION_VARIABLES = ['REGIONS', 'REGION_OSS_ENDPOINTS', 'REGION_FC_ENDPOINTS'] as const;
type RegionVariable = (typeof STACK_REGION_VARIABLES)[number];

export function checkNoRegionVariables(env: Record<string, string | undefined>): void {
  const set = STACK_REGION_VARIABLES.find((name) => (env[name] ?? '').trim() !== '');
  if (set !== undefined) {
    throw new CliError(`${set} is set, but npm start serves its regions itself: unset it and name the regions with --regions (${REGIONS_EXAMPLE})`);
  }
}

/**
 * The shell assignments that send the CLI's function commands (consumers, promote, rollback) to the
 * local regions as well as home: REGIONS and REGION_FC_ENDPOINTS, as src/cli/fc.ts reads them.
 */
export function cliRegionAssignments(regions: readonly LocalRegionEndpoints[]): string {
  const { REGIONS, REGION_FC_ENDPOINTS } = regionVariables(regions);
  return `REGIONS=${REGIONS} REGION_FC_ENDPOINTS=${REGION_FC_ENDPOINTS}`;
}

/** The function's variables that send it to the local regions (REGIONS, REGION_OSS_ENDPOINTS, REGION_FC_ENDPOINTS of src/config.ts). */
export function regionVariables(regions: readonly LocalRegionEndpoints[]): Record<RegionVariable, string> {
  const list = (value: (region: LocalRegionEndpoints) => string): string => regions.map((region) => `${region.region}=${value(region)}`).join(',');
  // Empty when there are none: the handler then reads them as unset.
  return { REGIONS: list((r) => r.bucket), REGION_OSS_ENDPOINTS: list((r) => r.ossUrl), REGION_FC_ENDPOINTS: list((r) => r.fcUrl) };
}
