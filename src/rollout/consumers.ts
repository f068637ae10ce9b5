import type { FunctionsApi } from '../fc/functions';
import { layerOfArn } from '../fc/layer-api';

/**
 * One use of a layer version: a function's current configuration (`LATEST`), a published function
 * version, or an alias (which serves published versions, `weight` of its traffic each).
 */
export interface LayerConsumer {
  layerName: string;
  version: number;
  functionName: string;
  kind: 'function' | 'functionVersion' | 'alias';
  /** The function version (for `functionVersion`, and the one an alias serves). */
  functionVersion?: string;
  alias?: string;
  /** An alias's share of traffic for that version: 1 for its main version less the canaries'. */
  weight?: number;
}

/**
 * Every layer version in use in one region, read as docs/rollout.md counts the calls: ListFunctions
 * (paged), then per function ListFunctionVersions and ListAliases (paged) and one GetFunction per
 * published version. Functions with no published version cost one call each for those two lists.
 */
export async function layerConsumers(
  fc: FunctionsApi,
  retrying: <T>(step: string, operation: () => Promise<T>) => Promise<T>,
  /** Throws when the caller's time is up: a partial listing must not pass for a whole one. */
  checkTime: () => void = () => {},
): Promise<LayerConsumer[]> {
  const consumers: LayerConsumer[] = [];
  const uses = (arns: readonly string[], use: Omit<LayerConsumer, 'layerName' | 'version'>) => {
    for (const arn of arns) {
      const layer = layerOfArn(arn);
      if (layer !== undefined) consumers.push({ ...layer, ...use });
    }
  };
  for (const fn of await retrying('consumers.functions', () => fc.list(''))) {
    checkTime();
    const { functionName } = fn;
    uses(fn.layers, { functionName, kind: 'function' });
    const versionLayers = new Map<string, string[]>();
    for (const version of await retrying('consumers.versions', () => fc.versions(functionName))) {
      const config = await retrying('consumers.version', () => fc.get(functionName, version.versionId));
      // Deleted between the listing and the read: no longer in use.
      if (config === undefined) continue;
      versionLayers.set(version.versionId, config.layers);
      uses(config.layers, { functionName, kind: 'functionVersion', functionVersion: version.versionId });
    }
    for (const alias of await retrying('consumers.aliases', () => fc.aliases(functionName))) {
      const canaries = Object.entries(alias.additionalVersionWeight);
      const main = 1 - canaries.reduce((sum, [, weight]) => sum + weight, 0);
      for (const [functionVersion, weight] of [[alias.versionId, main] as const, ...canaries]) {
        uses(versionLayers.get(functionVersion) ?? [], {
          functionName,
          kind: 'alias',
          alias: alias.aliasName,
          functionVersion,
          weight: Math.round(weight * 1e6) / 1e6,
        });
      }
    }
  }
  return consumers;
}

/** How a use reads in the CLI's table and the HTML report: "api", "api version 3", "api alias prod (0.1 to version 3)". */
export function consumerLabel(consumer: LayerConsumer): string {
  if (consumer.kind === 'function') return consumer.functionName;
  if (consumer.kind === 'functionVersion') return `${consumer.functionName} version ${consumer.functionVersion}`;
  return `${consumer.functionName} alias ${consumer.alias} (${consumer.weight} to version ${consumer.functionVersion})`;
}
