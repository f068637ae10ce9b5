import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { LayerVersion } from '../../src/emulator';
import type { PublishResult, Summary } from '../../src/publish/result';
import { expectNoSecrets } from '../publish/helpers';
import { TEST_BUCKET, type TestCloud } from './cloud';

/**
 * The invariants of docs/contract.md §7, checked after every fault and bad-input scenario:
 *
 * 1. at most one layer version per upload (no new version repeats the code, description and runtimes
 *    of the version before it, and no layer gains more versions than the scenario made uploads);
 * 2. every record that names a zip or manifest ends with a result written, or the handler rejects;
 *    a handler that resolves has no retryable failure in its summary;
 * 3. no stale result over a newer one (the final result names the newest upload's ETag);
 * 4. no secret in any log line or written object;
 * 5. nothing written that a trigger would match: only `*.result.json` and `_audit/` keys, and no
 *    zip or manifest touched;
 * 6. nothing under `_audit/` overwritten: every `_audit/` write is create-if-absent, and objects
 *    there before the scenario keep their bytes;
 * 7. a result never names a version that no longer exists: a `published` or `unchanged`
 *    result of the scenario's layers names a live version holding the CRC it names.
 */

export interface CloudSnapshot {
  /** Every object's key and a digest of its bytes. */
  objects: Map<string, string>;
  /** Live versions of the named layers. */
  versions: Map<string, LayerVersion[]>;
  /** Where the OSS request log stood. */
  ossRequests: number;
}

/** What one delivery ended with: a summary, or a rejection; and everything it logged. */
export interface DeliveryOutcome {
  /** The records delivered (to know which keys must end with a result); optional. */
  keys?: readonly string[];
  summary: Summary | undefined;
  error: Error | undefined | string;
  rawLines: readonly string[];
}

export interface InvariantOptions {
  /** Layers the scenario may touch. */
  layers: readonly string[];
  /** How many distinct uploads of each layer the scenario made (default 1): the most new versions it may gain. */
  uploads?: Record<string, number>;
  runs: readonly DeliveryOutcome[];
  /** Result keys whose final result must name this zip ETag (the newest upload). */
  latest?: ReadonlyArray<{ resultKey: string; etag: string }>;
  /** Extra log text (a child process's stdout and stderr). */
  logs?: readonly string[];
  /** Keys the test itself uploaded during the scenario (a newer zip): not the publisher's writes. */
  uploadedByTest?: readonly string[];
}

/** Running totals for the closing report, printed by the suites. */
export const tally = { scenarios: 0, versionsMade: 0, deliveries: 0 };

const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export async function snapshot(cloud: TestCloud, layers: readonly string[]): Promise<CloudSnapshot> {
  const objects = new Map<string, string>();
  for (const key of await cloud.oss.listKeys(TEST_BUCKET)) {
    const bytes = await cloud.oss.readObject(TEST_BUCKET, key);
    if (bytes !== undefined) objects.set(key, digest(bytes));
  }
  const versions = new Map(layers.map((layer) => [layer, cloud.fc.versions(layer)] as const));
  return { objects, versions, ossRequests: cloud.oss.requests.entries.length };
}

function resultKeyOf(key: string): string | undefined {
  if (key.startsWith('_audit/')) return undefined;
  if (key.endsWith('.zip')) return `${key.slice(0, -'.zip'.length)}.result.json`;
  if (key.endsWith('.layer.json')) return `${key.slice(0, -'.layer.json'.length)}.result.json`;
  return undefined;
}

/** Results, the audit trail and the latest-version index (docs/index-and-notices.md): the publisher's own objects. */
function isOwnKey(key: string): boolean {
  return key.endsWith('.result.json') || key.startsWith('_audit/') || key.startsWith('_index/');
}

export async function readJson<T>(cloud: TestCloud, key: string): Promise<T | undefined> {
  const bytes = await cloud.oss.readObject(TEST_BUCKET, key);
  return bytes === undefined ? undefined : (JSON.parse(Buffer.from(bytes).toString('utf8')) as T);
}

const unquote = (etag: string) => etag.replace(/^"|"$/g, '').toUpperCase();

/** Checks every invariant; returns how many versions the scenario made. */
export async function expectInvariants(cloud: TestCloud, before: CloudSnapshot, options: InvariantOptions): Promise<number> {
  const after = await snapshot(cloud, options.layers);
  tally.scenarios += 1;
  tally.deliveries += options.runs.length;

  // 1. At most one version per upload.
  let made = 0;
  for (const layer of options.layers) {
    const old = new Set((before.versions.get(layer) ?? []).map((version) => version.version));
    const fresh = (after.versions.get(layer) ?? []).filter((version) => !old.has(version.version));
    made += fresh.length;
    expect(fresh.length, `new versions of ${layer}`).toBeLessThanOrEqual(options.uploads?.[layer] ?? 1);
    // A version identical to the one before it would have been `unchanged`: two such in a row are
    // one upload published twice (A, B, A again is three uploads and is fine).
    const identity = (version: LayerVersion) => `${version.codeChecksum}|${version.description}|${[...version.compatibleRuntime].sort().join(',')}`;
    const live = after.versions.get(layer) ?? [];
    for (let i = 1; i < live.length; i++) {
      if (!old.has(live[i]!.version)) {
        expect(identity(live[i]!), `${layer} version ${live[i]!.version} repeats version ${live[i - 1]!.version}`).not.toBe(identity(live[i - 1]!));
      }
    }
  }
  tally.versionsMade += made;

  // 2. Every record ends with a result written, or the handler rejecting.
  for (const run of options.runs) {
    if (run.error !== undefined) {
      expect(String(run.error instanceof Error ? run.error.message : run.error)).not.toBe('');
      continue;
    }
    expect(run.summary, 'a delivery resolved without a summary').toBeDefined();
    if (run.keys !== undefined) expect(run.summary).toHaveLength(run.keys.length);
    for (const entry of run.summary ?? []) {
      expect(entry.error?.retryable ?? false, `resolved with a retryable failure for ${entry.key}`).toBe(false);
      if (entry.status === 'ignored' || entry.status === 'stale' || entry.key === null) continue;
      const resultKey = resultKeyOf(entry.key);
      expect(resultKey, `summary key ${entry.key} names no zip or manifest`).toBeDefined();
      expect(after.objects.has(resultKey!), `no result at ${resultKey} for a resolved delivery (${entry.status})`).toBe(true);
    }
  }

  // 3. No stale result over a newer one.
  for (const { resultKey, etag } of options.latest ?? []) {
    const result = await readJson<PublishResult>(cloud, resultKey);
    expect(result, `no result at ${resultKey}`).toBeDefined();
    expect(unquote(result?.source.etag ?? ''), `${resultKey} names an older upload`).toBe(unquote(etag));
  }

  // 4. No secret anywhere.
  const written: string[] = [];
  for (const key of after.objects.keys()) {
    if (isOwnKey(key) && before.objects.get(key) !== after.objects.get(key)) {
      written.push(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, key))!).toString('utf8'));
    }
  }
  expectNoSecrets([...options.runs.flatMap((run) => run.rawLines), ...(options.logs ?? []), ...written]);

  // 5. Nothing written a trigger would match; no zip or manifest touched.
  const uploaded = new Set(options.uploadedByTest ?? []);
  for (const [key, hash] of after.objects) {
    if (before.objects.get(key) === hash || uploaded.has(key)) continue;
    expect(isOwnKey(key), `the publisher wrote ${key}`).toBe(true);
  }
  for (const [key, hash] of before.objects) {
    if (isOwnKey(key) || uploaded.has(key)) continue;
    expect(after.objects.get(key), `${key} was changed or removed`).toBe(hash);
  }
  const writes = cloud.oss.requests.entries
    .slice(before.ossRequests)
    .filter((request) => request.method === 'PUT' || request.method === 'POST' || request.method === 'DELETE');
  for (const request of writes) {
    expect(request.method === 'DELETE' ? 'DELETE' : 'write', `${request.method} ${request.key}`).toBe('write');
    expect(isOwnKey(request.key), `the publisher sent ${request.method} ${request.key}`).toBe(true);
    // 6a. Append-only: every write under _audit/ is create-if-absent.
    if (request.key.startsWith('_audit/')) {
      expect(request.headers['x-oss-forbid-overwrite'], `PUT ${request.key} without forbid-overwrite`).toBe('true');
    }
  }
  // 6b. What was under _audit/ keeps its bytes.
  for (const [key, hash] of before.objects) {
    if (key.startsWith('_audit/')) expect(after.objects.get(key), `${key} was overwritten`).toBe(hash);
  }

  // 7. Every result that names a version names one that exists, with its code.
  for (const key of after.objects.keys()) {
    if (!key.endsWith('.result.json') || before.objects.get(key) === after.objects.get(key)) continue;
    const result = await readJson<PublishResult>(cloud, key);
    if ((result?.status !== 'published' && result?.status !== 'unchanged') || !options.layers.includes(result.layerName ?? '')) continue;
    const named = after.versions.get(result.layerName!)?.find((version) => version.version === result.version);
    expect(named, `${key} names ${result.layerName} version ${result.version}, which does not exist`).toBeDefined();
    expect(named?.codeChecksum, `${key} names a version holding other code`).toBe(result.source.crc64);
  }
  return made;
}
