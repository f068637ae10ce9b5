import { expect } from 'vitest';
import type { FcEmulator, LayerVersion, OssEmulator } from '../../src/emulator';
import type { PublishResult } from '../../src/publish/result';

/**
 * The invariants of several regions, per region, checked after a scenario in a cloud of several
 * regions (the home region's own are test/support/invariants.ts's):
 *
 * 1. at most one version per region per upload: no region gains more versions than the scenario
 *    made uploads, and no new version repeats the code, description and runtimes of the one before
 *    it (that upload was `unchanged` there and makes none);
 * 2. every version in every region holds the code and description of an upload the scenario made:
 *    its codeChecksum is the CRC-64 of that upload's zip bytes, computed by the caller from the bytes;
 * 3. the final result's `regions` map names every region: each `published` or `unchanged` with a
 *    live version of that region holding the newest upload, except the regions that refuse creates
 *    for good, which are `failed`, not retryable, and hold no version;
 * 4. nothing in a staging bucket but staged copies: keys under `_audit/staged/`, ending in neither
 *    `.zip` nor `.layer.json`, so a publisher watching that bucket is never triggered.
 */

/** One region of the scenario's cloud: the home one (the trigger's bucket) or another, with its staging bucket. */
export interface RegionSite {
  region: string;
  bucket: string;
  oss: OssEmulator;
  fc: FcEmulator;
  home: boolean;
}

/** What one upload asked for: the CRC-64 of its zip bytes and its manifest's description. */
export interface UploadContent {
  crc64: string;
  description: string;
}

export interface RegionInvariantOptions {
  sites: readonly RegionSite[];
  layer: string;
  /** Versions each region held before the scenario (by region). */
  before: ReadonlyMap<string, readonly LayerVersion[]>;
  /** Every upload the scenario made, oldest first; the last is the newest. */
  uploads: readonly UploadContent[];
  /** The final `<stem>.result.json`. */
  result: PublishResult | undefined;
  /** Regions whose FC refused every create for good. */
  refusing: ReadonlySet<string>;
}

export function versionsBefore(sites: readonly RegionSite[], layer: string): Map<string, LayerVersion[]> {
  return new Map(sites.map((site) => [site.region, site.fc.versions(layer)] as const));
}

const identity = (version: Pick<LayerVersion, 'codeChecksum' | 'description' | 'compatibleRuntime'>) =>
  `${version.codeChecksum}|${version.description}|${[...version.compatibleRuntime].sort().join(',')}`;

/** Checks every invariant above; returns how many versions each region gained. */
export async function expectRegionInvariants(options: RegionInvariantOptions): Promise<Record<string, number>> {
  const { sites, layer, uploads, result, refusing } = options;
  const made: Record<string, number> = {};
  const contents = new Set(uploads.map((upload) => `${upload.crc64}|${upload.description}`));
  for (const site of sites) {
    const old = new Set((options.before.get(site.region) ?? []).map((version) => version.version));
    const live = site.fc.versions(layer);
    const fresh = live.filter((version) => !old.has(version.version));
    made[site.region] = fresh.length;
    // 1.
    expect(fresh.length, `new versions of ${layer} in ${site.region}`).toBeLessThanOrEqual(uploads.length);
    for (let i = 1; i < live.length; i++) {
      if (old.has(live[i]!.version)) continue;
      expect(identity(live[i]!), `${site.region}: ${layer} version ${live[i]!.version} repeats version ${live[i - 1]!.version}`).not.toBe(
        identity(live[i - 1]!),
      );
    }
    // 2.
    for (const version of fresh) {
      expect(
        contents.has(`${version.codeChecksum}|${version.description}`),
        `${site.region}: ${layer} version ${version.version} holds code ${version.codeChecksum} "${version.description}", which no upload had`,
      ).toBe(true);
    }
    if (refusing.has(site.region)) expect(fresh, `${site.region} refuses every create, yet holds versions`).toEqual([]);
  }

  // 3.
  const newest = uploads[uploads.length - 1]!;
  const regions = result?.regions;
  expect(Object.keys(regions ?? {}).sort(), 'the regions the final result names').toEqual(sites.map((site) => site.region).sort());
  for (const site of sites) {
    const entry = regions![site.region]!;
    if (refusing.has(site.region)) {
      expect(entry.status, `${site.region}'s entry ${JSON.stringify(entry)}`).toBe('failed');
      expect(entry.error?.retryable, `${site.region}'s refusal is for good`).toBe(false);
      expect(entry.version, `${site.region} failed, yet its entry names a version`).toBeUndefined();
      continue;
    }
    expect(['published', 'unchanged'], `${site.region}'s entry ${JSON.stringify(entry)}`).toContain(entry.status);
    expect(entry.home === true, `${site.region}'s entry says home: ${String(entry.home)}`).toBe(site.home);
    if (site.home) expect(entry.version, "the home entry names the result's version").toBe(result!.version);
    const named = site.fc.versions(layer).find((version) => version.version === entry.version);
    expect(named, `${site.region}'s entry names version ${entry.version}, which does not exist there`).toBeDefined();
    expect(entry.codeChecksum, `${site.region}'s entry codeChecksum`).toBe(newest.crc64);
    expect(named!.codeChecksum, `${site.region} version ${entry.version} holds other code`).toBe(newest.crc64);
    expect(named!.description, `${site.region} version ${entry.version} holds another upload's description`).toBe(newest.description);
    expect(entry.arn, `${site.region}'s entry arn`).toBe(named!.arn);
  }

  // 4.
  for (const site of sites) {
    if (site.home) continue;
    for (const key of await site.oss.listKeys(site.bucket)) {
      expect(key.startsWith('_audit/staged/') && !key.endsWith('.zip') && !key.endsWith('.layer.json'), `the publisher wrote ${site.bucket}/${key}`).toBe(true);
    }
  }
  return made;
}
