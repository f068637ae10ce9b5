import type { LayerVersion } from './fc-layers';
import { ServiceError } from './service';

/** A function that names layer versions, seeded by a test or a local run: the emulator runs no code. */
export interface SeedFunction {
  functionName: string;
  /** The FC 2.0 service the function belongs to (2016-08-15 and 2021-04-06 list by service); `default` when absent. */
  serviceName?: string;
  layers: Array<{ layerName: string; version: number }>;
}

interface StoredFunction {
  serviceName: string;
  functionName: string;
  layers: LayerVersion[];
}

export interface FunctionPage<T> {
  items: T[];
  nextToken?: string;
}

/**
 * The account's functions as ListFunctions (and, before FC 3.0, ListServices) describe them:
 * only their names and layers, which is what the publisher reads. Paged by an opaque `nextToken`.
 */
export class FunctionRegistry {
  private readonly functions: StoredFunction[] = [];

  constructor(private readonly versionOf: (layerName: string, version: number) => LayerVersion) {}

  seed(seed: SeedFunction): void {
    const serviceName = seed.serviceName ?? 'default';
    const layers = seed.layers.map(({ layerName, version }) => this.versionOf(layerName, version));
    const existing = this.functions.findIndex((f) => f.serviceName === serviceName && f.functionName === seed.functionName);
    const stored = { serviceName, functionName: seed.functionName, layers };
    if (existing === -1) this.functions.push(stored);
    else this.functions[existing] = stored;
  }

  /** FC 3.0: every function, its layers as `{arn, size}` with the `acs:fc:` ARN. */
  listFc3(limit: number, token: string | null): FunctionPage<object> {
    return page(this.functions, limit, token, (f) => ({
      functionName: f.functionName,
      layers: f.layers.map((layer) => ({ arn: layer.arnV2, size: layer.codesize })),
    }));
  }

  listServices(limit: number, token: string | null): FunctionPage<object> {
    const names = [...new Set(this.functions.map((f) => f.serviceName))];
    return page(names, limit, token, (serviceName) => ({ serviceName }));
  }

  /** 2016-08-15 and 2021-04-06: a service's functions, their layers as legacy ARNs and as `layersArnV2`. */
  listOfService(serviceName: string, limit: number, token: string | null): FunctionPage<object> {
    const inService = this.functions.filter((f) => f.serviceName === serviceName);
    if (inService.length === 0) throw new ServiceError(404, 'ServiceNotFound', `service ${serviceName} does not exist`);
    return page(inService, limit, token, (f) => ({
      functionName: f.functionName,
      layers: f.layers.map((layer) => layer.arn),
      layersArnV2: f.layers.map((layer) => layer.arnV2),
    }));
  }
}

function page<T>(all: readonly T[], limit: number, token: string | null, view: (item: T) => object): FunctionPage<object> {
  const start = token === null || token === '' ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0 || start > all.length) throw new ServiceError(400, 'InvalidArgument', 'nextToken is not one this service gave.');
  const items = all.slice(start, start + limit).map(view);
  const next = start + limit;
  return next < all.length ? { items, nextToken: Buffer.from(String(next), 'utf8').toString('base64url') } : { items };
}
