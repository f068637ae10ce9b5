import type { FcRequestTarget, OssRequestTarget } from '../../src/emulator';
import { invoke } from '../publish/helpers';
import { TEST_BUCKET, type TestCloud } from '../support/cloud';
import { type CloudSnapshot, type DeliveryOutcome, expectInvariants, snapshot } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';

export const LAYER = NODE_MANIFEST.layerName;
export const BASE = 'layers/left-pad';
export const ZIP_KEY = `${BASE}.zip`;
export const MANIFEST_KEY = `${BASE}.layer.json`;
export const RESULT_KEY = `${BASE}.result.json`;

/** Counts faults armed across a file, for the closing report. */
export const injected = { count: 0 };

export async function seedPair(cloud: TestCloud, options: { zip?: Buffer; manifest?: unknown } = {}) {
  const zip = options.zip ?? nodejsLayerZip();
  await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zip);
  await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(options.manifest ?? NODE_MANIFEST));
  return {
    zip,
    zipEvent: await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY),
    manifestEvent: await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY),
  };
}

export const fcAction = (action: FcRequestTarget['action']) => (target: FcRequestTarget) => target.action === action;
export const oss = (method: string, key: string) => (target: OssRequestTarget) => target.method === method && target.key === key;
export const ossUnder = (method: string, prefix: string) => (target: OssRequestTarget) =>
  target.method === method && target.key.startsWith(prefix);

export function creates(cloud: TestCloud) {
  return cloud.fc.requests.entries.filter((request) => request.action === 'CreateLayerVersion');
}

/** Delivers the events (one invocation each), keeping each outcome for the invariants. */
export async function deliver(events: unknown[], options: Parameters<typeof invoke>[1] = {}): Promise<DeliveryOutcome & Awaited<ReturnType<typeof invoke>>> {
  const run = await invoke(events, options);
  const keys = events.map((event) => (event as { oss: { object: { key: string } } }).oss.object.key);
  return { ...run, keys };
}

export { expectInvariants, snapshot, type CloudSnapshot };
