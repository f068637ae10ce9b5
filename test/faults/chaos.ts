import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { expect } from 'vitest';
import { type Credential, createFcEmulator, createOssEmulator } from '../../src/emulator';
import { handleOssEvent } from '../../src/handler';
import type { PublishResult, Summary } from '../../src/publish/result';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_REGION, type TestCloud } from '../support/cloud';
import { type DeliveryOutcome, expectInvariants, readJson, snapshot } from '../support/invariants';
import { NODE_MANIFEST, manifestBytes, nodejsLayerZip } from '../support/layers';

/**
 * Seeded chaos over the whole handler (issue 10): every iteration is one layer in a fresh cloud,
 * one or two uploads, several deliveries at once, and at random: processes killed at any request
 * (the answer lost or the request never sent), OSS and FC faults, CreateLayerVersion slower than the
 * function, slow result PUTs, and instances whose clocks are seconds or minutes off. Then the
 * platform's redeliveries, with the faults gone, and every invariant of test/support/invariants.ts.
 *
 * A killed process is modelled by its credentials: every delivery has its own security token, and
 * once killed, nothing it sends reaches the cloud again. Time passing between redeliveries is OSS's
 * clock moving on (the ledger keeps OSS's time), once nothing is in flight.
 */
export interface ChaosReport {
  seed: number;
  iterations: number;
  deliveries: number;
  kills: number;
  skewedDeliveries: number;
  faults: Record<string, number>;
  versionsMade: number;
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
  /** OSS's clock runs this far ahead of the real one. */
  ossOffsetMs: number;
  inFlight: number;
  /** The first CreateLayerVersion's connection drops this long after it was sent, while FC goes on with it. */
  dropCreateAfterMs: number | undefined;
  credentials: Array<Required<Credential>>;
  next: number;
}

const CREDENTIALS_PER_ITERATION = 40;

function newIteration(index: number): Iteration {
  const credentials = Array.from({ length: CREDENTIALS_PER_ITERATION }, (_, i) => ({
    accessKeyId: `STS.Chaos${index}x${i}`,
    accessKeySecret: `chaos-secret-${index}-${i}-do-not-log`,
    securityToken: `chaos-token-${index}-${i}-do-not-log`,
  }));
  const iteration: Iteration = { cloud: undefined as unknown as TestCloud, ossOffsetMs: 0, inFlight: 0, dropCreateAfterMs: undefined, credentials, next: 0 };
  const account = { accountId: TEST_ACCOUNT_ID, region: TEST_REGION, credentials };
  const oss = createOssEmulator({ ...account, buckets: [TEST_BUCKET], now: () => new Date(Date.now() + iteration.ossOffsetMs) });
  const fc = createFcEmulator({ ...account, readObject: (bucket, key) => oss.readObject(bucket, key) });
  iteration.cloud = { oss, fc, ossEndpoint: '', fcEndpoint: '' };
  return iteration;
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
    const { hostname } = new URL(request.url);
    const service = hostname.endsWith('.fc.aliyuncs.com') ? iteration.cloud.fc : iteration.cloud.oss;
    iteration.inFlight += 1;
    try {
      if (iteration.dropCreateAfterMs !== undefined && request.method === 'POST' && /\/layers\/[^/]+\/versions$/.test(new URL(request.url).pathname)) {
        const afterMs = iteration.dropCreateAfterMs;
        iteration.dropCreateAfterMs = undefined;
        iteration.inFlight += 1;
        void service
          .handle(request)
          .catch(() => undefined)
          .finally(() => (iteration.inFlight -= 1));
        await sleep(afterMs);
        return HttpResponse.error();
      }
      if (delivery.killAt === delivery.requests) {
        delivery.dead = true;
        // Killed with this request on the wire: it may or may not have reached the service.
        if (delivery.requests % 2 === 0) await service.handle(request).catch(() => undefined);
        return HttpResponse.error();
      }
      return await service.handle(request);
    } finally {
      iteration.inFlight -= 1;
    }
  }),
);

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
      env: {},
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

/** Arms 0 to 3 faults of random kinds, counted by kind. */
function armFaults(rng: Rng, iteration: Iteration, timeoutSeconds: number, faults: Record<string, number>) {
  const { oss, fc } = iteration.cloud;
  const count = (kind: string) => (faults[kind] = (faults[kind] ?? 0) + 1);
  const kinds: Array<() => void> = [
    () => {
      const method = rng.pick(['HEAD', 'GET', 'PUT']);
      oss.faults.inject({ match: (t) => t.method === method, status: rng.pick([500, 503]), nth: rng.int(1, 12), times: rng.int(1, 3) });
      count(`oss-5xx-${method}`);
    },
    () => {
      oss.faults.inject({ match: (t) => t.method === 'PUT', status: 503, afterHandling: true, nth: rng.int(1, 8) });
      count('oss-write-answer-lost');
    },
    () => {
      fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', status: 503, afterHandling: true });
      count('fc-create-answer-lost');
    },
    () => {
      fc.faults.inject({ match: (t) => t.action === 'ListLayerVersions', status: rng.pick([500, 503, 429]), nth: rng.int(1, 4), times: rng.int(1, 2) });
      count('fc-list-5xx');
    },
    () => {
      fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', delayMs: Math.round(timeoutSeconds * 1000 * (0.4 + rng.next() * 1.2)) });
      count('fc-slow-create');
    },
    () => {
      fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', cutBodyAfterBytes: rng.int(0, 20) });
      count('fc-create-answer-cut');
    },
    () => {
      // FC takes its time over the create, and the connection drops long before it is done.
      fc.faults.inject({ match: (t) => t.action === 'CreateLayerVersion', delayMs: rng.int(800, 2_500) });
      iteration.dropCreateAfterMs = rng.int(100, 500);
      count('fc-create-dropped-while-slow');
    },
    () => {
      oss.faults.inject({ match: (t) => t.method === 'PUT' && t.key === RESULT_KEY, delayMs: rng.int(300, 2_000), ...(rng.chance(0.5) ? { status: 503 } : {}) });
      count('oss-slow-result-put');
    },
  ];
  for (let i = rng.int(0, 3); i > 0; i--) rng.pick(kinds)();
}

/** One iteration; throws on the first invariant that does not hold. */
async function iterate(index: number, rng: Rng, report: ChaosReport, lines: string[]): Promise<void> {
  const iteration = newIteration(index);
  const { cloud } = iteration;
  await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip(`chaos-${index}-A`));
  await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes(NODE_MANIFEST));
  const eventsA = [await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY), await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY)];
  const before = await snapshot(cloud, [LAYER]);
  const timeoutSeconds = rng.pick(FUNCTION_SECONDS);
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
      if (rng.chance(0.5)) await cloud.oss.putObject(TEST_BUCKET, ZIP_KEY, nodejsLayerZip(`chaos-${index}-B`));
      else await cloud.oss.putObject(TEST_BUCKET, MANIFEST_KEY, manifestBytes({ ...NODE_MANIFEST, description: `B ${index}` }));
      events = [await cloud.oss.objectCreatedEvent(TEST_BUCKET, ZIP_KEY), await cloud.oss.objectCreatedEvent(TEST_BUCKET, MANIFEST_KEY)];
      uploads = 2;
    }
    const killAt = rng.chance(0.3) ? rng.int(1, 30) : undefined;
    const skewMs = rng.chance(0.3) ? rng.pick(SKEWS_MS) : 0;
    runs.push(deliver(iteration, rng.pick(events), { timeoutSeconds, killAt, skewMs, requestId: `chaos-${index}-${i}` }));
  }
  const settled = await Promise.all(runs);
  // Whatever FC or OSS still holds (a slow create) lands before time is said to pass.
  while (iteration.inFlight > 0) await sleep(50);

  // The platform delivers again, later: the faults are gone, and claims and creates have timed out.
  cloud.oss.faults.clear();
  cloud.fc.faults.clear();
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
    lines.push(`${key} ${meta?.lastModified.toISOString()} ${Buffer.from((await cloud.oss.readObject(TEST_BUCKET, key))!).toString('utf8').slice(0, 300)}\n`);
  }
  lines.push(`versions ${JSON.stringify(cloud.fc.versions(LAYER).map((v) => [v.version, v.createTime]))}\n`);
  report.deliveries += all.length;
  report.kills += all.filter((run) => run.killed).length;
  report.skewedDeliveries += all.filter((run) => run.skewed).length;
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
  // Each delivery's own secrets, too, stay out of what it logged and wrote.
  const texts = [...all.flatMap((run) => run.rawLines)];
  for (const key of await cloud.oss.listKeys(TEST_BUCKET)) texts.push(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, key))!).toString('utf8'));
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
        await iterate(index, rng, report, lines);
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
