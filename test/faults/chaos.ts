import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { expect } from 'vitest';
import { type Credential, type FunctionStore, type StoredFunction, createFcEmulator, createOssEmulator } from '../../src/emulator';
import { handleOssEvent } from '../../src/handler';
import type { PublishResult, Summary } from '../../src/publish/result';
import type { RolloutOutcome } from '../../src/rollout/outcome';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_REGION, type TestCloud } from '../support/cloud';
import { independentCrc64 } from '../support/independent';
import { type DeliveryOutcome, expectInvariants, readJson, snapshot } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';
import { type RegionSite, type UploadContent, expectRegionInvariants, versionsBefore } from '../support/region-invariants';
import { OTHER_REGIONS, refuseCreatesForGood } from '../support/regional-cloud';

/**
 * Seeded chaos over the whole handler: every iteration is one layer in a fresh cloud,
 * one or two uploads, several deliveries at once, and at random: processes killed at any request
 * (the answer lost or the request never sent), OSS and FC faults, CreateLayerVersion slower than the
 * function, slow result PUTs, and instances whose clocks are seconds or minutes off. Then the
 * platform's redeliveries, with the faults gone, and every invariant of test/support/invariants.ts.
 *
 * A killed process is modelled by its credentials: every delivery has its own security token, and
 * once killed, nothing it sends reaches the cloud again. Time passing between redeliveries is OSS's
 * clock moving on (the ledger keeps OSS's time), once nothing is in flight.
 *
 * With `regions`, every cloud has two more regions (each its own OSS with the staging
 * bucket, and its own FC reading that OSS), the deliveries have REGIONS, faults are armed in any
 * region, now and then one region refuses every create for good, and kills land on any request of a
 * delivery, whichever region it goes to: at most one version per region per upload, the final
 * result names every region (test/support/region-invariants.ts), and no retry touches a region
 * its upload settled before (noteRedone).
 *
 * With `rollout` (docs/rollout.md), the manifest moves three functions to each version it publishes
 * (FC 3.0), with faults on their reads and updates too: each function is updated at most once to
 * each version, ends on the final result's version, and the final result's `rollout` names each.
 */
export interface ChaosReport {
  seed: number;
  iterations: number;
  deliveries: number;
  kills: number;
  skewedDeliveries: number;
  faults: Record<string, number>;
  versionsMade: number;
  /** With `regions`: the versions made in each region, the home one included. */
  versionsByRegion?: Record<string, number>;
  /** With `rollout`: the UpdateFunction calls that changed a function. */
  functionUpdates?: number;
  /** With `rollout`: the iterations with a canary, the canary function versions published and the alias moves they made. */
  canaries?: { iterations: number; functionVersions: number; aliasMoves: number };
  violations: number;
  failures: string[];
  seconds: number;
}

export interface ChaosOptions {
  iterations: number;
  seed: number;
  /** Iterations run at once (each in its own cloud). */
  parallel: number;
  /** The first iteration's index (to run one again alone: its faults depend on the seed and index only). */
  first?: number;
  /** Publish to two more regions as well. */
  regions?: boolean;
  /** Roll the versions out to functions too (docs/rollout.md). */
  rollout?: boolean;
  /** Called with a failed iteration's log lines, for a person to read. */
  onFailure?: (index: number, lines: string[]) => void;
}

const LAYER = NODE_MANIFEST.layerName;
const ZIP_KEY = 'layers/left-pad.zip';
const MANIFEST_KEY = 'layers/left-pad.layer.json';
const RESULT_KEY = 'layers/left-pad.result.json';
/** More than any claim (5 s) and in-doubt create window (twice that) of the deliveries here. */
const TIME_PASSES_MS = 30_000;
const FUNCTION_SECONDS = [3, 4];
/** Kills land on any of a delivery's first requests; with three regions a publish makes about 45. */
const KILL_WITHIN = 30;
const KILL_WITHIN_REGIONS = 50;
/** How often, with regions, one of the other regions refuses every create for good. */
const REFUSAL_CHANCE = 0.15;
/** How often, with regions, one of the other regions is down (its FC or its OSS) until the faults are gone. */
const DOWN_CHANCE = 0.25;
const SKEWS_MS = [-600_000, -5_000, 5_000, 600_000];

/** mulberry32: small, seedable, good enough to pick faults. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Delivery {
  iteration: Iteration;
  credential: Required<Credential>;
  /** The request (1-based) at which the process dies; none when it lives. */
  killAt: number | undefined;
  requests: number;
  dead: boolean;
}

interface Iteration {
  cloud: TestCloud;
  /** The home region first, then the others (none without `regions`). */
  sites: RegionSite[];
  /** OSS's clock runs this far ahead of the real one. */
  ossOffsetMs: number;
  inFlight: number;
  /** The first CreateLayerVersion in this region: its connection drops this long after it was sent, while FC goes on with it. */
  dropCreate: { site: RegionSite; afterMs: number } | undefined;
  credentials: Array<Required<Credential>>;
  next: number;
  /** Requests that worked on a region its upload had already settled: a retry redoing a finished region. */
  redone: string[];
  /** With `rollout`: each function's layers as the UpdateFunction calls FC took left them, and how often each was moved to each ARN. */
  functionLayers: Map<string, string[]>;
  updatesTo: Map<string, number>;
  /** The UpdateFunction request (1-based, counted in `updateRequests`) whose answer is lost after FC took it. */
  dropUpdateAnswerAt: number | undefined;
  updateRequests: number;
  /** With a canary: FC's functions after each change, and what changed: function versions published and aliases moved, counted by what they became. */
  functionsNow: Map<string, StoredFunction>;
  /** The manifest has a canary on alias `prod`. */
  canary: boolean;
  versionsPublished: Map<string, number>;
  aliasMoves: Map<string, number>;
}

const CREDENTIALS_PER_ITERATION = 40;

function newIteration(index: number, regions: boolean): Iteration {
  const credentials = Array.from({ length: CREDENTIALS_PER_ITERATION }, (_, i) => ({
    accessKeyId: `STS.Chaos${index}x${i}`,
    accessKeySecret: `chaos-secret-${index}-${i}-do-not-log`,
    securityToken: `chaos-token-${index}-${i}-do-not-log`,
  }));
  const iteration: Iteration = {
    cloud: undefined as unknown as TestCloud,
    sites: [],
    ossOffsetMs: 0,
    inFlight: 0,
    dropCreate: undefined,
    credentials,
    next: 0,
    redone: [],
    functionLayers: new Map(),
    updatesTo: new Map(),
    dropUpdateAnswerAt: undefined,
    updateRequests: 0,
    functionsNow: new Map(),
    canary: false,
    versionsPublished: new Map(),
    aliasMoves: new Map(),
  };
  const site = (region: string, bucket: string): RegionSite => {
    const account = { accountId: TEST_ACCOUNT_ID, region, credentials };
    const oss = createOssEmulator({ ...account, buckets: [bucket], now: () => new Date(Date.now() + iteration.ossOffsetMs) });
    const fc = createFcEmulator({ ...account, readObject: (b, key) => oss.readObject(b, key), functionStore: functionWatch(iteration) });
    return { region, bucket, oss, fc, home: region === TEST_REGION };
  };
  const home = site(TEST_REGION, TEST_BUCKET);
  iteration.sites = [home, ...(regions ? OTHER_REGIONS.map((other) => site(other.region, other.bucket)) : [])];
  iteration.cloud = { oss: home.oss, fc: home.fc, ossEndpoint: '', fcEndpoint: '' };
  return iteration;
}

/** The region a cloud host names, as DNS routes it: `[<bucket>.]oss-<region>[-internal].aliyuncs.com`, `<account>.<region>[-internal].fc.aliyuncs.com`. */
function siteOf(iteration: Iteration, hostname: string): { site: RegionSite; fc: boolean } | undefined {
  const fc = /^\d+\.([a-z0-9-]+?)(?:-internal)?\.fc\.aliyuncs\.com$/.exec(hostname);
  const region = (fc ?? /(?:^|\.)oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/.exec(hostname))?.[1];
  const site = iteration.sites.find((candidate) => candidate.region === region);
  return site === undefined ? undefined : { site, fc: fc !== null };
}

/** Every delivery's token, to route its requests to its iteration's cloud, or to drop them once it is dead. */
const deliveries = new Map<string, Delivery>();

const TOKEN_HEADERS = ['x-oss-security-token', 'x-fc-security-token', 'x-acs-security-token'];

const server = setupServer(
  http.all('*', async ({ request }) => {
    const token = TOKEN_HEADERS.map((name) => request.headers.get(name)).find((value) => value !== null);
    const delivery = token ? deliveries.get(token) : undefined;
    if (delivery === undefined) return HttpResponse.text('chaos: a request with no known token', { status: 400 });
    if (delivery.dead) return HttpResponse.error();
    delivery.requests += 1;
    const { iteration } = delivery;
    const url = new URL(request.url);
    const routed = siteOf(iteration, url.hostname);
    if (routed === undefined) return HttpResponse.text(`chaos: no endpoint ${url.hostname} in this cloud`, { status: 502 });
    const service = routed.fc ? routed.site.fc : routed.site.oss;
    if (!routed.site.home) await noteRedone(iteration, routed.site, routed.fc, request);
    iteration.inFlight += 1;
    try {
      const drop = iteration.dropCreate;
      if (drop?.site === routed.site && routed.fc && isCreate(request)) {
        const { afterMs } = drop;
        iteration.dropCreate = undefined;
        iteration.inFlight += 1;
        void handled(iteration, service, request)
          .catch(() => undefined)
          .finally(() => (iteration.inFlight -= 1));
        await sleep(afterMs);
        return HttpResponse.error();
      }
      if (delivery.killAt === delivery.requests) {
        delivery.dead = true;
        // Killed with this request on the wire: it may or may not have reached the service.
        if (delivery.requests % 2 === 0) await handled(iteration, service, request).catch(() => undefined);
        return HttpResponse.error();
      }
      return await handled(iteration, service, request);
    } finally {
      iteration.inFlight -= 1;
    }
  }),
);

const UPDATE_FUNCTION = /^\/2023-03-30\/functions\/([^/]+)$/;

/** The service's answer; an UpdateFunction it took is noted: the function's layers now, and one more move to its ARN. */
async function handled(iteration: Iteration, service: { handle: (request: Request) => Promise<Response> }, request: Request): Promise<Response> {
  const functionName = request.method === 'PUT' ? UPDATE_FUNCTION.exec(new URL(request.url).pathname)?.[1] : undefined;
  const body = functionName === undefined ? undefined : await request.clone().text();
  const response = await service.handle(request);
  if (functionName !== undefined) iteration.updateRequests += 1;
  if (functionName !== undefined && body !== undefined && response.ok) {
    const layers = (JSON.parse(body) as { layers: string[] }).layers;
    const before = iteration.functionLayers.get(functionName) ?? [];
    iteration.functionLayers.set(functionName, layers);
    for (const arn of layers.filter((arn) => !before.includes(arn))) {
      const key = `${functionName} ${arn}`;
      iteration.updatesTo.set(key, (iteration.updatesTo.get(key) ?? 0) + 1);
    }
  }
  // FC took the update; the connection drops before its answer arrives.
  if (functionName !== undefined && iteration.updateRequests === iteration.dropUpdateAnswerAt) return HttpResponse.error();
  return response;
}

const STAGED = /_audit\/staged\/([0-9a-f]+)\//;

const isCreate = (request: Request) => request.method === 'POST' && /\/layers\/[^/]+\/versions$/.test(new URL(request.url).pathname);

/**
 * A region is settled once `regions/<region>/outcome.json` of its upload is in the home bucket; from
 * then on no attempt reads or writes that upload's staged copy there, or creates a version from it
 * (the outcome is read before either): one that does redoes a finished region.
 */
async function noteRedone(iteration: Iteration, site: RegionSite, fc: boolean, request: Request): Promise<void> {
  const creates = fc && isCreate(request);
  const named = creates ? await request.clone().text() : fc ? '' : decodeURIComponent(new URL(request.url).pathname);
  const uploadId = STAGED.exec(named)?.[1];
  if (uploadId === undefined) return;
  const outcome = `_audit/uploads/${uploadId}/regions/${site.region}/outcome.json`;
  if ((await iteration.cloud.oss.statObject(TEST_BUCKET, outcome)) !== undefined) {
    iteration.redone.push(`${site.region}: ${creates ? 'CreateLayerVersion from' : request.method} the stage of upload ${uploadId}, settled before`);
  }
}

export function startChaosServer(): () => void {
  server.listen({ onUnhandledRequest: 'error' });
  return () => server.close();
}

interface Run extends DeliveryOutcome {
  killed: boolean;
  skewed: boolean;
}

async function deliver(
  iteration: Iteration,
  event: unknown,
  options: { timeoutSeconds: number; killAt?: number; skewMs?: number; requestId: string },
): Promise<Run> {
  const credential = iteration.credentials[iteration.next++ % CREDENTIALS_PER_ITERATION]!;
  const delivery: Delivery = { iteration, credential, killAt: options.killAt, requests: 0, dead: false };
  deliveries.set(credential.securityToken, delivery);
  const rawLines: string[] = [];
  const context = {
    requestId: options.requestId,
    region: TEST_REGION,
    accountId: TEST_ACCOUNT_ID,
    credentials: { ...credential },
    function: { timeout: options.timeoutSeconds },
  };
  const skewMs = options.skewMs ?? 0;
  let summary: Summary | undefined;
  let error: Error | undefined;
  try {
    summary = await handleOssEvent(Buffer.from(JSON.stringify({ events: [event] })), context, {
      env: { ...(iteration.sites.length > 1 ? { REGIONS: regionsEnv(iteration) } : {}), ...(iteration.functionLayers.size > 0 ? ROLLOUT_ENV : {}) },
      write: (line) => rawLines.push(line),
      ...(skewMs === 0 ? {} : { now: () => new Date(Date.now() + skewMs) }),
    });
  } catch (caught) {
    error = caught as Error;
  }
  deliveries.delete(credential.securityToken);
  const killed = delivery.dead;
  const keys = [(event as { oss: { object: { key: string } } }).oss.object.key];
  // A killed process ends with neither a summary nor a rejection anyone sees.
  if (killed) return { summary: undefined, error: 'killed', rawLines, killed, skewed: skewMs !== 0 };
  return { summary, error, rawLines, keys, killed, skewed: skewMs !== 0 };
}

/**
 * FC's functions as the emulator keeps them: every change it makes is seen here, whether or not its
 * answer reached the publisher. Counts each function version published (by function and
 * description) and each alias move (by function, alias and the target it moved to).
 */
function functionWatch(iteration: Iteration): FunctionStore {
  const bump = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  return {
    load: () => [],
    save(functions) {
      for (const fn of functions) {
        const was = iteration.functionsNow.get(fn.functionName);
        for (const version of fn.versions ?? []) {
          if (!was?.versions?.some((old) => old.versionId === version.versionId))
            bump(iteration.versionsPublished, `${fn.functionName} "${version.description}"`);
        }
        for (const alias of fn.aliases ?? []) {
          const old = was?.aliases?.find((candidate) => candidate.aliasName === alias.aliasName);
          const target = JSON.stringify([alias.versionId, alias.additionalVersionWeight]);
          if (old !== undefined && target !== JSON.stringify([old.versionId, old.additionalVersionWeight]))
            bump(iteration.aliasMoves, `${fn.functionName} alias ${alias.aliasName} -> ${target}`);
        }
      }
      iteration.functionsNow = new Map(functions.map((fn) => [fn.functionName, structuredClone(fn)]));
    },
  };
}

const ROLLOUT_ENV = { FC_API_VERSION: '2023-03-30', ROLLOUT_FUNCTIONS: 'chaos-fn-*' };
/** Two functions using the layer (named by the glob), one using none (named by name, so it takes the layer). */
const ROLLOUT_FUNCTIONS = ['chaos-fn-a', 'chaos-fn-b', 'chaos-fn-c'];
const ROLLOUT_MANIFEST = { rollout: ['chaos-fn-*', 'chaos-fn-c'] };
/** In some iterations every function has an alias `prod` on its version 1, and the manifest a canary on it. */
const CANARY = { alias: 'prod', weight: 0.25 };
const CANARY_CHANCE = 0.5;

const regionsEnv = (iteration: Iteration) =>
  iteration.sites
    .filter((site) => !site.home)
    .map((site) => `${site.region}=${site.bucket}`)
    .join(',');

/**
 * Arms 0 to 3 faults of random kinds, counted by kind; with regions, each in a region picked at
 * random (counted by kind and region), the result's PUT always at home, where the result is.
 */
function armFaults(rng: Rng, iteration: Iteration, timeoutSeconds: number, faults: Record<string, number>) {
  const rollout = iteration.functionLayers.size > 0;
  const canary = iteration.canary;
  const regions = iteration.sites.length > 1;
  const count = (kind: string, site: RegionSite) => {
    const name = regions ? `${kind} ${site.region}` : kind;
    faults[name] = (faults[name] ?? 0) + 1;
  };
  // Each arms a fault in the region it is given and names its kind.
  const kinds: Array<(site: RegionSite) => string> = [
    ({ oss }) => {
      const method = rng.pick(['HEAD', 'GET', 'PUT']);
      oss.faults.inject({ match: (t) => t.method === method, status: rng.pick([500, 503]), nth: rng.int(1, 12), times: rng.int(1, 3) });
      return `oss-5xx-${method}`;
    },
    ({ oss }) => {
      oss.faults.inject({ match: (t) => t.method === 'PUT', status: 503, afterHandling: true, nth: rng.int(1, 8) });
      return 'oss-write-answer-lost';
    },
    ({ fc }) => {
      fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', status: 503, afterHandling: true });
      return 'fc-create-answer-lost';
    },
    ({ fc }) => {
      fc.faults.inject({ match: (t) => t.action === 'ListLayerVersions', status: rng.pick([500, 503, 429]), nth: rng.int(1, 4), times: rng.int(1, 2) });
      return 'fc-list-5xx';
    },
    ({ fc }) => {
      fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', delayMs: Math.round(timeoutSeconds * 1000 * (0.4 + rng.next() * 1.2)) });
      return 'fc-slow-create';
    },
    ({ fc }) => {
      fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', cutBodyAfterBytes: rng.int(0, 20) });
      return 'fc-create-answer-cut';
    },
    (site) => {
      // FC takes its time over the create, and the connection drops long before it is done.
      site.fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', delayMs: rng.int(800, 2_500) });
      iteration.dropCreate = { site, afterMs: rng.int(100, 500) };
      return 'fc-create-dropped-while-slow';
    },
    ...(rollout
      ? [
          () => {
            iteration.dropUpdateAnswerAt = rng.int(1, 3);
            return 'fc-update-function-answer-dropped';
          },
          ({ fc }: RegionSite) => {
            fc.faults.inject({ match: (t) => t.action === 'UpdateFunction', status: 429, code: 'Throttled', nth: rng.int(1, 3), times: rng.int(1, 2) });
            return 'fc-update-function-throttled';
          },
          ({ fc }: RegionSite) => {
            fc.faults.inject({ match: (t) => t.action === 'GetFunction', status: rng.pick([500, 503]), nth: rng.int(1, 6), times: rng.int(1, 3) });
            return 'fc-get-function-5xx';
          },
        ]
      : []),
    ...(canary
      ? (['PublishFunctionVersion', 'UpdateAlias'] as const).flatMap((action) => [
          ({ fc }: RegionSite) => {
            fc.faults.inject({ match: (t) => t.action === action, status: rng.pick([500, 503, 429]), nth: rng.int(1, 3), times: rng.int(1, 2) });
            return `fc-${action}-5xx`;
          },
          ({ fc }: RegionSite) => {
            // FC applies it; the answer is lost.
            fc.faults.inject({ match: (t) => t.action === action, status: 503, afterHandling: true, nth: rng.int(1, 3) });
            return `fc-${action}-answer-lost`;
          },
        ])
      : []),
    ({ oss }) => {
      oss.faults.inject({
        match: (t) => t.method === 'PUT' && t.key === RESULT_KEY,
        delayMs: rng.int(300, 2_000),
        ...(rng.chance(0.5) ? { status: 503 } : {}),
      });
      return 'oss-slow-result-put';
    },
  ];
  const home = iteration.sites[0]!;
  for (let i = rng.int(0, 3); i > 0; i--) {
    const arm = rng.pick(kinds);
    const picked = regions ? rng.pick(iteration.sites) : home;
    // The result is written at home only.
    const site = arm === kinds[kinds.length - 1] ? home : picked;
    count(arm(site), site);
  }
}

/** A version of the layer before the uploads, and the functions the rollout moves from it. */
function seedFunctions(iteration: Iteration, index: number): void {
  const { fc } = iteration.sites[0]!;
  const seeded = fc.seedVersion(LAYER, {
    code: nodejsLayerZip(`chaos-${index}-seed`),
    description: NODE_MANIFEST.description,
    compatibleRuntime: NODE_MANIFEST.compatibleRuntime,
  });
  for (const functionName of ROLLOUT_FUNCTIONS) {
    const layers = functionName === 'chaos-fn-c' ? [] : [{ layerName: LAYER, version: seeded.version }];
    fc.seedFunction({ functionName, layers, ...(iteration.canary ? { aliases: [CANARY.alias] } : {}) });
    iteration.functionLayers.set(functionName, functionName === 'chaos-fn-c' ? [] : [seeded.arnV2]);
  }
}

/**
 * Each function moved at most once to each version, and ending on the final result's version; the
 * final result's `rollout` names each function, updated or already current. Returns the moves made.
 */
function expectRolledOut(iteration: Iteration, final: PublishResult | undefined): number {
  const twice = [...iteration.updatesTo].filter(([, count]) => count > 1);
  expect(twice, `a function was moved to the same version more than once: ${JSON.stringify(twice)}`).toEqual([]);
  const rollout = (final as (PublishResult & { rollout?: RolloutOutcome }) | undefined)?.rollout;
  expect(rollout?.functions.map((f) => f.functionName).sort(), `final rollout ${JSON.stringify(rollout)}`).toEqual(ROLLOUT_FUNCTIONS);
  for (const entry of rollout?.functions ?? []) {
    expect(['updated', 'current'], `${entry.functionName}: ${JSON.stringify(entry)}`).toContain(entry.status);
    expect(iteration.functionLayers.get(entry.functionName), `${entry.functionName} ends on the final version`).toEqual([final?.arn]);
  }
  if (iteration.canary) expectCanaries(iteration, final?.arn, rollout);
  return [...iteration.updatesTo.values()].reduce((sum, count) => sum + count, 0);
}

/**
 * With a canary: no function version published twice for one rollout (its description names the
 * upload), each alias moved at most once to each target, and each alias ending on its version 1
 * with the rest, 0.25, on one function version that holds the final version of the layer, as the
 * final result's entry says.
 */
function expectCanaries(iteration: Iteration, finalArn: string | undefined, rollout: RolloutOutcome | undefined): void {
  const twice = (counts: Map<string, number>) => [...counts].filter(([, count]) => count > 1);
  expect(twice(iteration.versionsPublished), 'a function version published twice').toEqual([]);
  expect(twice(iteration.aliasMoves), 'an alias moved twice to the same target').toEqual([]);
  for (const functionName of ROLLOUT_FUNCTIONS) {
    const fn = iteration.functionsNow.get(functionName);
    const alias = fn?.aliases?.find((candidate) => candidate.aliasName === CANARY.alias);
    const canaries = Object.entries(alias?.additionalVersionWeight ?? {});
    expect([alias?.versionId, canaries.map(([, weight]) => weight)], `${functionName} alias ${JSON.stringify(alias)}`).toEqual(['1', [CANARY.weight]]);
    const [canaryVersion] = canaries[0] ?? [];
    const held = fn?.versions?.find((version) => version.versionId === canaryVersion)?.config.layers.map((layer) => layer.arnV2);
    expect(held, `${functionName} version ${canaryVersion} holds the final layer version`).toEqual([finalArn]);
    const entry = rollout?.functions.find((candidate) => candidate.functionName === functionName);
    expect(entry?.canary, `${functionName}: ${JSON.stringify(entry)}`).toMatchObject({
      functionVersion: canaryVersion,
      after: { versionId: '1', additionalVersionWeight: { [canaryVersion ?? '']: CANARY.weight } },
    });
  }
}

/** One iteration; throws on the first invariant that does not hold. */
async function iterate(index: number, rng: Rng, report: ChaosReport, lines: string[], options: Pick<ChaosOptions, 'regions' | 'rollout'>): Promise<void> {
  const regions = options.regions ?? false;
  const iteration = newIteration(index, regions);
  const { cloud, sites } = iteration;
  iteration.canary = options.rollout === true && rng.chance(CANARY_CHANCE);
  const manifest = { ...NODE_MANIFEST, ...(options.rollout ? ROLLOUT_MANIFEST : {}), ...(iteration.canary ? { canary: CANARY } : {}) };
  if (options.rollout) seedFunctions(iteration, index);
  const zipA = nodejsLayerZip(`chaos-${index}-A`);
  await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zipA);
  await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(manifest));
  const eventsA = [await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY), await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY)];
  const before = await snapshot(cloud, [LAYER]);
  const versionsAtStart = versionsBefore(sites, LAYER);
  // What each upload asks for, from the bytes, to know which versions it may make.
  const contents: UploadContent[] = [{ crc64: independentCrc64(zipA), description: NODE_MANIFEST.description }];
  const timeoutSeconds = rng.pick(FUNCTION_SECONDS);
  const refusing = regions && rng.chance(REFUSAL_CHANCE) ? rng.pick(sites.slice(1)) : undefined;
  const countRegionFault = (name: string) => (report.faults[name] = (report.faults[name] ?? 0) + 1);
  if (refusing !== undefined) {
    // Armed first, so no other fault there gets to make a version.
    refuseCreatesForGood(refusing.fc);
    countRegionFault(`fc-create-refused-for-good ${refusing.region}`);
  }
  // A region down until the faults are gone: the first deliveries settle the others and reject; the redeliveries resume it alone.
  const down = regions && rng.chance(DOWN_CHANCE) ? rng.pick(sites.slice(1)) : undefined;
  if (down !== undefined) {
    const service = rng.pick(['fc', 'oss'] as const);
    down[service].faults.inject({ status: 503, code: 'ServiceUnavailable', times: Infinity });
    countRegionFault(`region-down-${service} ${down.region}`);
  }
  armFaults(rng, iteration, timeoutSeconds, report.faults);

  let events = eventsA;
  let uploads = 1;
  const runs: Array<Promise<Run>> = [];
  const deliveryCount = rng.int(2, 5);
  const uploadBAt = rng.chance(0.35) ? rng.int(0, deliveryCount - 1) : -1;
  for (let i = 0; i < deliveryCount; i++) {
    await sleep(rng.int(0, 700));
    if (i === uploadBAt) {
      // Upload B: new zip bytes, or a new description; a second apart so Last-Modified differs.
      await sleep(1_000);
      if (rng.chance(0.5)) {
        const zipB = nodejsLayerZip(`chaos-${index}-B`);
        await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, zipB);
        contents.push({ crc64: independentCrc64(zipB), description: NODE_MANIFEST.description });
      } else {
        await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes({ ...manifest, description: `B ${index}` }));
        contents.push({ crc64: contents[0]!.crc64, description: `B ${index}` });
      }
      events = [await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY), await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY)];
      uploads = 2;
    }
    const killAt = rng.chance(0.3) ? rng.int(1, regions ? KILL_WITHIN_REGIONS : KILL_WITHIN) : undefined;
    const skewMs = rng.chance(0.3) ? rng.pick(SKEWS_MS) : 0;
    runs.push(deliver(iteration, rng.pick(events), { timeoutSeconds, killAt, skewMs, requestId: `chaos-${index}-${i}` }));
  }
  const settled = await Promise.all(runs);
  // Whatever FC or OSS still holds (a slow create) lands before time is said to pass.
  while (iteration.inFlight > 0) await sleep(50);

  // The platform delivers again, later: the faults are gone, and claims and creates have timed out.
  for (const site of sites) {
    site.oss.faults.clear();
    site.fc.faults.clear();
  }
  iteration.dropUpdateAnswerAt = undefined;
  // A refusal for good does not pass.
  if (refusing !== undefined) refuseCreatesForGood(refusing.fc);
  const redeliveries: Run[] = [];
  for (const event of events) {
    for (let attempt = 0; attempt < 4; attempt++) {
      iteration.ossOffsetMs += TIME_PASSES_MS;
      const run = await deliver(iteration, event, { timeoutSeconds: 5, requestId: `redelivery-${index}-${redeliveries.length}` });
      redeliveries.push(run);
      if (run.error === undefined) break;
    }
  }

  const all = [...settled, ...redeliveries];
  lines.push(...all.flatMap((run) => run.rawLines));
  // The ledger as it ended, for a person reading a failed iteration.
  for (const key of await cloud.oss.listKeys(TEST_BUCKET, '_audit/uploads/')) {
    const meta = await cloud.oss.statObject(TEST_BUCKET, key);
    lines.push(
      `${key} ${meta?.lastModified.toISOString()} ${Buffer.from((await cloud.oss.readObject(TEST_BUCKET, key))!)
        .toString('utf8')
        .slice(0, 300)}\n`,
    );
  }
  for (const site of sites) {
    const versions = JSON.stringify(site.fc.versions(LAYER).map((v) => [v.version, v.createTime, v.description, v.codeChecksum]));
    lines.push(`versions${site.home ? '' : ` ${site.region}`} ${versions}\n`);
  }
  report.deliveries += all.length;
  report.kills += all.filter((run) => run.killed).length;
  report.skewedDeliveries += all.filter((run) => run.skewed).length;
  expect(iteration.redone, `a retry redid a region settled before: ${iteration.redone.join('; ')}`).toEqual([]);
  for (const run of redeliveries.slice(-1)) {
    expect(run.error, `the last redelivery rejected: ${String(run.error)}`).toBeUndefined();
  }
  const final = await readJson<PublishResult>(cloud, RESULT_KEY);
  expect(['published', 'unchanged'], `final result ${JSON.stringify(final?.status)} ${JSON.stringify(final?.error)}`).toContain(final?.status);
  const made = await expectInvariants(cloud, before, {
    layers: [LAYER],
    uploads: { [LAYER]: uploads },
    runs: all,
    latest: [{ resultKey: RESULT_KEY, etag: events[0]!.oss.object.eTag }],
    uploadedByTest: uploads === 2 ? [ZIP_KEY, MANIFEST_KEY] : [],
  });
  report.versionsMade += made;
  if (options.rollout) report.functionUpdates = (report.functionUpdates ?? 0) + expectRolledOut(iteration, final);
  if (iteration.canary && report.canaries !== undefined) {
    const sum = (counts: Map<string, number>, keep: (key: string) => boolean) =>
      [...counts].filter(([key]) => keep(key)).reduce((total, [, count]) => total + count, 0);
    report.canaries.iterations += 1;
    report.canaries.functionVersions += sum(iteration.versionsPublished, (key) => key.includes('"layer-publisher canary:'));
    report.canaries.aliasMoves += sum(iteration.aliasMoves, () => true);
  }
  if (regions) {
    const madeIn = await expectRegionInvariants({
      sites,
      layer: LAYER,
      before: versionsAtStart,
      uploads: contents,
      result: final,
      refusing: new Set(refusing === undefined ? [] : [refusing.region]),
    });
    for (const [region, count] of Object.entries(madeIn)) report.versionsByRegion![region] = (report.versionsByRegion![region] ?? 0) + count;
  }
  // Each delivery's own secrets, too, stay out of what it logged and wrote, in every region.
  const texts = [...all.flatMap((run) => run.rawLines)];
  for (const { oss, bucket } of sites) {
    for (const key of await oss.listKeys(bucket)) texts.push(Buffer.from((await oss.readObject(bucket, key))!).toString('utf8'));
  }
  for (const credential of iteration.credentials) {
    for (const text of texts) {
      expect(text.includes(credential.accessKeySecret) || text.includes(credential.securityToken), 'a secret was logged or written').toBe(false);
    }
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const report: ChaosReport = {
    seed: options.seed,
    iterations: 0,
    deliveries: 0,
    kills: 0,
    skewedDeliveries: 0,
    faults: {},
    versionsMade: 0,
    ...(options.regions ? { versionsByRegion: {} } : {}),
    ...(options.rollout ? { functionUpdates: 0, canaries: { iterations: 0, functionVersions: 0, aliasMoves: 0 } } : {}),
    violations: 0,
    failures: [],
    seconds: 0,
  };
  let nextIndex = options.first ?? 0;
  const end = nextIndex + options.iterations;
  const worker = async () => {
    for (;;) {
      const index = nextIndex++;
      if (index >= end) return;
      // Each iteration's own stream, so what it does depends on the seed and its index only.
      const rng = prng(options.seed * 7919 + index);
      const lines: string[] = [];
      try {
        await iterate(index, rng, report, lines, options);
      } catch (error) {
        options.onFailure?.(index, lines);
        report.violations += 1;
        report.failures.push(`iteration ${index}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      }
      report.iterations += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, worker));
  report.seconds = Math.round((Date.now() - started) / 1000);
  return report;
}
