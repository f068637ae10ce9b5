import type { LayerVersion } from '../fc/layers';
import type { TrailEntry } from './trail';

/**
 * `unrecorded`: FC holds a version no record published (made outside the bucket); `checksum`: FC's
 * codeChecksum is not the CRC-64 recorded at publish; `missing`: a published version FC no longer has.
 */
export type DriftKind = 'unrecorded' | 'checksum' | 'missing';

export interface Drift {
  layerName: string;
  version: number;
  kind: DriftKind;
  message: string;
  fcChecksum?: string;
  recordedCrc64?: string;
  /** FC's createTime of the version, when FC holds it. */
  createTime?: string;
  /** The record that published it, when one did. */
  recordKey?: string;
}

export interface LayerCheck {
  layerName: string;
  /** What FC holds, oldest first. */
  fcVersions: number[];
  /** What the trail says was published, oldest first. */
  recordedVersions: number[];
  /** What the trail says the publisher deleted on purpose (retention). */
  deletedVersions: number[];
}

export interface VerifyReport {
  ok: boolean;
  checkedAt: string;
  layers: LayerCheck[];
  drift: Drift[];
}

/** What the trail says about one published version. */
interface Recorded {
  crc64: string | undefined;
  key: string;
}

/** The trail against what FC holds, layer by layer; pure, so every kind of drift is easy to state. */
export function compareTrail(entries: readonly TrailEntry[], held: ReadonlyMap<string, readonly LayerVersion[]>, now: Date): VerifyReport {
  const layers: LayerCheck[] = [];
  const drift: Drift[] = [];
  for (const [layerName, fcVersions] of [...held].sort(([a], [b]) => a.localeCompare(b))) {
    // FC here is the home region's: another region's version numbers are not its own.
    const ofLayer = entries.filter((entry) => entry.layerName === layerName && entry.version !== undefined && entry.region === undefined);
    const published = new Map<number, Recorded>();
    const deleted = new Set<number>();
    for (const entry of ofLayer) {
      const version = entry.version as number;
      if (entry.status === 'published' && !published.has(version)) published.set(version, { crc64: entry.crc64 ?? entry.codeChecksum, key: entry.key });
      if ((entry.status === 'deleted' || entry.kind === 'deleted') && entry.dryRun !== true) deleted.add(version);
    }
    const inFc = new Map(fcVersions.map((version) => [version.version, version]));
    for (const version of [...inFc.values()].sort((a, b) => a.version - b.version)) {
      const recorded = published.get(version.version);
      const fields = {
        layerName,
        version: version.version,
        fcChecksum: version.codeChecksum,
        ...(version.createTime ? { createTime: version.createTime } : {}),
      };
      if (recorded === undefined) {
        drift.push({
          ...fields,
          kind: 'unrecorded',
          message: `layer ${layerName} version ${version.version} is in Function Compute, but no audit record or result published it: made outside the bucket${version.createTime ? ` (created ${version.createTime})` : ''}`,
        });
      } else if (recorded.crc64 !== undefined && recorded.crc64 !== version.codeChecksum) {
        drift.push({
          ...fields,
          kind: 'checksum',
          recordedCrc64: recorded.crc64,
          recordKey: recorded.key,
          message: `layer ${layerName} version ${version.version}: Function Compute's codeChecksum ${version.codeChecksum || '(none)'} is not the CRC-64 ${recorded.crc64} recorded when it was published`,
        });
      }
    }
    for (const [version, recorded] of [...published].sort(([a], [b]) => a - b)) {
      if (inFc.has(version) || deleted.has(version)) continue;
      drift.push({
        layerName,
        version,
        kind: 'missing',
        ...(recorded.crc64 ? { recordedCrc64: recorded.crc64 } : {}),
        recordKey: recorded.key,
        message: `layer ${layerName} version ${version} was published (${recorded.key}), but Function Compute no longer has it: deleted outside the bucket`,
      });
    }
    layers.push({
      layerName,
      fcVersions: [...inFc.keys()].sort((a, b) => a - b),
      recordedVersions: [...published.keys()].sort((a, b) => a - b),
      deletedVersions: [...deleted].sort((a, b) => a - b),
    });
  }
  drift.sort((a, b) => a.layerName.localeCompare(b.layerName) || a.version - b.version);
  return { ok: drift.length === 0, checkedAt: now.toISOString(), layers, drift };
}
