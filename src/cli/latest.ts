import type OSS from 'ali-oss';
import { loadConfig } from '../config';
import { layerIndexKey } from '../audit/layout';
import { layerIndexSchema, type LayerIndex, type LatestEntry } from '../latest/schema';
import { LAYER_NAME } from '../manifest/manifest';
import { describeIssues } from '../validation';
import { ossFailure } from './failures';
import { CliError, EXIT_FAILED, EXIT_OK, ServiceError, type CliIo } from '../console/io';

/** What `latest` found: the layer's newest version in the region asked for. */
export type LatestAnswer = { kind: 'found'; region: string; entry: LatestEntry } | { kind: 'missing'; message: string };

/**
 * The layer's entry in the latest-version index (docs/index-and-notices.md). `region` undefined
 * picks the only region the index names, or the one of ALIBABA_CLOUD_REGION / FC_REGION.
 */
export async function readLatest(client: OSS, layerName: string, region: string | undefined, env: Record<string, string | undefined>): Promise<LatestAnswer> {
  if (!LAYER_NAME.test(layerName))
    throw new CliError(`${JSON.stringify(layerName)} is not a layer name (letters, digits, _ and -, starting with a letter or _)`);
  const key = layerIndexKey(loadConfig(env).indexPrefix, layerName);
  const index = await readIndex(client, key);
  if (index === undefined)
    return { kind: 'missing', message: `no index for layer ${layerName} at ${key}: nothing of it was published since the index exists (INDEX_PREFIX?)` };
  const regions = Object.keys(index.regions).sort();
  const chosen = region ?? (regions.length === 1 ? regions[0] : [env.ALIBABA_CLOUD_REGION, env.FC_REGION].find((r) => r !== undefined && regions.includes(r)));
  if (chosen === undefined) throw new CliError(`layer ${layerName} is published in ${regions.join(', ')}: choose one with --region`);
  const entry = index.regions[chosen];
  if (entry === undefined)
    return { kind: 'missing', message: `layer ${layerName} has no version in ${chosen} (it has in ${regions.join(', ') || 'no region'})` };
  return { kind: 'found', region: chosen, entry };
}

async function readIndex(client: OSS, key: string): Promise<LayerIndex | undefined> {
  let body: string;
  try {
    const { content } = await client.get(key);
    body = Buffer.from(content as Uint8Array).toString('utf8');
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw ossFailure(client, `reading ${key}`, error);
  }
  let parsed: ReturnType<typeof layerIndexSchema.safeParse>;
  try {
    parsed = layerIndexSchema.safeParse(JSON.parse(body));
  } catch (error) {
    throw new ServiceError(`${key} is not JSON: ${(error as Error).message}`, EXIT_FAILED);
  }
  if (!parsed.success) throw new ServiceError(`${key} is not an index the publisher wrote: ${describeIssues(parsed.error.issues)}`, EXIT_FAILED);
  return parsed.data;
}

export function printLatest(answer: LatestAnswer, json: boolean, io: CliIo): number {
  if (answer.kind === 'missing') {
    io.err(`layer-publisher latest: ${answer.message}\n`);
    return EXIT_FAILED;
  }
  // The ARN alone, so that ARN=$(layer-publisher latest my-layer) works.
  io.out(json ? `${JSON.stringify({ region: answer.region, ...answer.entry })}\n` : `${answer.entry.arn}\n`);
  return EXIT_OK;
}
