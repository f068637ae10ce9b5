import { createHash } from 'node:crypto';
import { ServiceError } from './service';

/** The runtimes a layer may name (docs/contract.md §4, docs/reference/alibaba-cloud.md §4). */
export const LAYER_RUNTIMES: readonly string[] = [
  'nodejs20',
  'nodejs18',
  'nodejs16',
  'nodejs14',
  'nodejs12',
  'nodejs10',
  'nodejs8',
  'nodejs6',
  'python3.10',
  'python3.9',
  'python3',
  'python2.7',
  'java11',
  'java8',
  'php7.2',
  'go1',
  'dotnetcore3.1',
  'dotnetcore2.1',
  'custom.debian10',
  'custom',
];

/** FC 3.0 takes newer runtimes besides (its runtime overview page; docs/reference/alibaba-cloud.md §4). */
export const FC3_LAYER_RUNTIMES: readonly string[] = [...LAYER_RUNTIMES, 'python3.12', 'java17', 'java21', 'custom.debian11', 'custom.debian12'];

const LAYER_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

/** One layer version as FC describes it (docs/reference/alibaba-cloud.md §4). */
export interface LayerVersion {
  layerName: string;
  version: number;
  description: string;
  compatibleRuntime: string[];
  codeChecksum: string;
  codesize: number;
  code: { repositoryType: 'OSS'; location: string };
  acl: number;
  arn: string;
  arnV2: string;
  createTime: string;
  /** Set through FC 3.0 only; absent from versions kept by older local runs. */
  license?: string;
}

export interface NewLayerVersion {
  description: string;
  compatibleRuntime: string[];
  codeChecksum: string;
  codesize: number;
  license: string;
}

/** A version as FC 3.0 (2023-03-30) describes it: `codeSize`, `acl` as a string, `layerVersionArn` (docs/reference/alibaba-cloud.md §5). */
export interface Fc3LayerVersion {
  layerName: string;
  version: number;
  description: string;
  compatibleRuntime: string[];
  codeChecksum: string;
  codeSize: number;
  code: { repositoryType: 'OSS'; location: string };
  acl: string;
  layerVersionArn: string;
  createTime: string;
  license: string;
}

/** A version as 2016-08-15 and 2021-04-06 describe it: those APIs have no license. */
export function legacyView(version: LayerVersion): Omit<LayerVersion, 'license'> {
  const { license, ...legacy } = version;
  return legacy;
}

export function fc3View(version: LayerVersion): Fc3LayerVersion {
  return {
    layerName: version.layerName,
    version: version.version,
    description: version.description,
    compatibleRuntime: version.compatibleRuntime,
    codeChecksum: version.codeChecksum,
    codeSize: version.codesize,
    code: version.code,
    acl: String(version.acl),
    layerVersionArn: version.arnV2,
    createTime: version.createTime,
    license: version.license ?? '',
  };
}

interface Layer {
  /** Versions are numbered per layer and a number is never given twice, even after a delete. */
  lastVersion: number;
  /** PutLayerACL sets it for the layer: every version, and those made later, answer with it. */
  acl?: number;
  versions: Map<number, LayerVersion>;
}

/** One layer as a LayerStore keeps it between runs. */
export interface StoredLayer {
  layerName: string;
  lastVersion: number;
  acl?: number;
  versions: LayerVersion[];
}

/** Where a registry keeps its layers across restarts (a JSON file in local runs); without one they live in memory only. */
export interface LayerStore {
  load(): StoredLayer[];
  save(layers: StoredLayer[]): void;
}

export interface LayerPage {
  layers: LayerVersion[];
  nextVersion?: number;
}

export function checkLayerName(name: string): void {
  if (!LAYER_NAME.test(name)) {
    throw new ServiceError(
      400,
      'InvalidArgument',
      `layerName "${name}" must start with a letter or _, hold only letters, digits, _ and -, and be at most 128 characters.`,
    );
  }
}

/** The layers of one account in one region. */
export class LayerRegistry {
  private readonly layers = new Map<string, Layer>();

  constructor(
    private readonly accountId: string,
    private readonly region: string,
    private readonly now: () => Date,
    private readonly store?: LayerStore,
  ) {
    for (const stored of store?.load() ?? []) {
      this.layers.set(stored.layerName, { lastVersion: stored.lastVersion, acl: stored.acl, versions: new Map(stored.versions.map((v) => [v.version, v])) });
    }
  }

  create(layerName: string, input: NewLayerVersion): LayerVersion {
    const layer = this.layers.get(layerName) ?? { lastVersion: 0, versions: new Map<number, LayerVersion>() };
    this.layers.set(layerName, layer);
    const version = layer.lastVersion + 1;
    layer.lastVersion = version;
    const created: LayerVersion = {
      layerName,
      version,
      ...input,
      code: {
        repositoryType: 'OSS',
        location: `https://fc-layers-${this.region}.oss-${this.region}.aliyuncs.com/${this.accountId}/${layerName}/${version}/code.zip`,
      },
      acl: layer.acl ?? 0,
      arn: `${this.arnHash()}#${layerName}#${version}`,
      arnV2: `acs:fc:${this.region}:${this.accountId}:layers/${layerName}/versions/${version}`,
      createTime: this.now().toISOString(),
    };
    layer.versions.set(version, created);
    this.persist();
    return created;
  }

  get(layerName: string, version: number): LayerVersion {
    const found = this.layers.get(layerName)?.versions.get(version);
    if (found === undefined) throw layerNotFound(layerName, version);
    return found;
  }

  /** Versions from `startVersion` up, oldest first; a layer that never had a version is not found. */
  list(layerName: string, startVersion: number, limit: number): LayerPage {
    const layer = this.layers.get(layerName);
    if (layer === undefined) throw layerNotFound(layerName);
    const from = [...layer.versions.values()].filter((v) => v.version >= startVersion).sort((a, b) => a.version - b.version);
    const page = from.slice(0, limit);
    const next = from[limit];
    return next === undefined ? { layers: page } : { layers: page, nextVersion: next.version };
  }

  delete(layerName: string, version: number): void {
    if (!this.layers.get(layerName)?.versions.delete(version)) throw layerNotFound(layerName, version);
    this.persist();
  }

  /** 1 public, 0 private; a layer that has no live version is not found, as FC answers. */
  setAcl(layerName: string, acl: 0 | 1): void {
    const layer = this.layers.get(layerName);
    if (layer === undefined || layer.versions.size === 0) throw layerNotFound(layerName);
    layer.acl = acl;
    for (const version of layer.versions.values()) version.acl = acl;
    this.persist();
  }

  private persist(): void {
    this.store?.save(
      [...this.layers].map(([layerName, layer]) => ({
        layerName,
        lastVersion: layer.lastVersion,
        ...(layer.acl === undefined ? {} : { acl: layer.acl }),
        versions: [...layer.versions.values()],
      })),
    );
  }

  /** The legacy ARN's leading hash: stable per account and region, opaque like FC's. */
  private arnHash(): string {
    return createHash('md5').update(`${this.accountId}:${this.region}`).digest('hex');
  }
}

function layerNotFound(layerName: string, version?: number): ServiceError {
  const what = version === undefined ? `layer ${layerName}` : `version ${version} of layer ${layerName}`;
  return new ServiceError(404, 'LayerNotFound', `${what} does not exist`);
}
