import { HttpResponse, http } from 'msw';
import { afterAll, describe, expect, it } from 'vitest';
import type { PublishResult } from '../../src/publish/result';
import { useMswCloud } from '../support/cloud';
import { readJson, tally } from '../support/invariants';
import { LAYER, RESULT_KEY, creates, deliver, deliverUnder, expectFailedRetryable, expectPublished, fcAction, injected } from './scenario';

/** Function Compute misbehaving (docs/contract.md §7): transient faults retried, unknown outcomes looked up first. */
const env = useMswCloud();
const CREATE_PATH = /\/layers\/left-pad\/versions$/;

afterAll(() => {
  console.log(`fc faults: ${injected.count} faults injected, ${tally.scenarios} scenarios, ${tally.versionsMade} versions made`);
});

const TRANSIENT: Array<[number, string]> = [
  [429, 'TooManyRequests'],
  [500, 'InternalServerError'],
  [503, 'ServiceUnavailable'],
  [409, 'ConcurrentUpdateError'],
];
const ACTIONS = ['CreateLayerVersion', 'ListLayerVersions'] as const;

describe(`FC transient statuses: ${TRANSIENT.length} statuses × ${ACTIONS.length} actions × once/persistently`, () => {
  describe.each(ACTIONS)('on %s', (action) => {
    it.each(TRANSIENT)('%i %s once: retried inside the invocation, published once', async (status, code) => {
      const { cloud } = env;
      const { run, check } = await deliverUnder(cloud, () => cloud.fc.faults.inject({ match: fcAction(action), status, code }));

      expect(run.error).toBeUndefined();
      expectPublished(run);
      expect(cloud.fc.versions(LAYER)).toHaveLength(1);
      expect(cloud.fc.requests.entries.filter((request) => request.action === action && request.status === status)).toHaveLength(1);
      await check([run]);
    });

    it.each(TRANSIENT)('%i %s persistently: failed, retryable, the handler rejects, no version', async (status, code) => {
      const { cloud } = env;
      const { run, check } = await deliverUnder(cloud, () => cloud.fc.faults.inject({ match: fcAction(action), status, code, times: Infinity }), {
        deliver: { timeoutSeconds: 20 },
      });

      expect(run.error?.message).toMatch(/delivered again/);
      expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({
        status: 'failed',
        error: { code: 'Unavailable', retryable: true, message: expect.stringContaining(String(status)) },
      });
      expect(cloud.fc.versions(LAYER)).toHaveLength(0);
      await check([run]);
    });
  });
});

describe('FC answers lost: the outcome is unknown, a version may exist (docs/contract.md §7)', () => {
  it.each([500, 502, 504])('CreateLayerVersion handled, then answered %i: adopted, not made twice', async (status) => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () => cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), status, afterHandling: true }));

    expectPublished(run);
    expect(creates(cloud)).toHaveLength(1);
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check([run]);
  });

  it('every CreateLayerVersion answer lost: the first one made is adopted, no second create', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () =>
      cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), status: 503, afterHandling: true, times: Infinity }),
    );

    expectPublished(run);
    expect(creates(cloud)).toHaveLength(1);
    await check([run]);
  });

  /** Faults on the create that leave one version made, published once. */
  const CREATE_ANSWER_FAULTS: Array<[string, () => unknown]> = [
    [
      'the answer is cut mid-body after the version was made: adopted',
      () => env.cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), cutBodyAfterBytes: 12 }),
    ],
    [
      'a connection reset after FC made the version: adopted, not made twice',
      () =>
        env.server.use(
          http.post(CREATE_PATH, async ({ request }) => {
            await env.cloud.fc.handle(request);
            return HttpResponse.error();
          }),
        ),
    ],
  ];

  it.each(CREATE_ANSWER_FAULTS)('%s', async (_name, arm) => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, arm);

    expectPublished(run);
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check([run]);
  });

  it('resets on every CreateLayerVersion before FC sees it: failed, retryable, rejects, no version, never a second create', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () => env.server.use(http.post(CREATE_PATH, () => HttpResponse.error())), {
      deliver: { timeoutSeconds: 5 },
    });

    await expectFailedRetryable(cloud, run);
    // A reset may come after FC took the request: a second create could be a second version.
    expect(cloud.fc.requests.entries.filter((request) => request.action === 'ListLayerVersions').length).toBeGreaterThan(0);
    await check([run]);
  });

  it("a connection reset before FC saw the request: no second create then; the delivery after the create's time publishes once", async () => {
    const { cloud } = env;
    let resets = 0;
    const {
      zipEvent,
      run: first,
      check,
    } = await deliverUnder(
      cloud,
      () =>
        env.server.use(
          http.post(
            CREATE_PATH,
            () => {
              resets += 1;
              return HttpResponse.error();
            },
            { once: true },
          ),
        ),
      {
        deliver: { timeoutSeconds: 3, requestId: 'reset' },
      },
    );
    await expectFailedRetryable(cloud, first);
    expect(resets).toBe(1);

    const second = await deliver([zipEvent], { requestId: 'after', timeoutSeconds: 15 });

    expectPublished(second);
    expect(creates(cloud)).toHaveLength(1);
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check([first, second]);
  }, 30_000);

  it('a lost create answer, then ListLayerVersions down: rejects; the redelivery adopts the version, no second create', async () => {
    const { cloud } = env;
    const {
      zipEvent,
      run: first,
      check,
    } = await deliverUnder(
      cloud,
      () => {
        cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), status: 503, afterHandling: true });
        cloud.fc.faults.inject({ match: fcAction('ListLayerVersions'), status: 503, nth: 2, times: Infinity });
      },
      { faults: 2, deliver: { timeoutSeconds: 20, requestId: 'first' } },
    );
    expect(first.error).toBeDefined();
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);

    cloud.fc.faults.clear();
    const second = await deliver([zipEvent], { requestId: 'second' });

    expectPublished(second);
    expect(creates(cloud)).toHaveLength(1);
    expect(cloud.fc.versions(LAYER)).toHaveLength(1);
    await check([first, second]);
  });

  it('a slow FC answer (a delay under the client timeout) is waited for', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, () => cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), delayMs: 300 }));

    expectPublished(run);
    await check([run]);
  });

  it('a codeChecksum mismatch whose delete answer is lost still leaves no version', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(
      cloud,
      () => {
        cloud.fc.reportWrongChecksumOnNextCreate();
        cloud.fc.faults.inject({ match: fcAction('DeleteLayerVersion'), status: 503, afterHandling: true });
      },
      { faults: 2 },
    );

    expect(cloud.fc.versions(LAYER)).toHaveLength(0);
    expect(await readJson<PublishResult>(cloud, RESULT_KEY)).toMatchObject({ status: 'failed' });
    await check([run]);
  });
});

describe('FC errors in the documented camelCase wire form (errorCode, errorMessage)', () => {
  /** FC answering its errors in camelCase from now on, then this fault on the create. */
  const camelCase = (fault: { status: number; code: string; message: string }) => () => {
    env.cloud.fc.errorCasing = 'camelCase';
    env.cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), ...fault });
  };

  it("a 400 is FcRejected and quotes FC's own code and message", async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, camelCase({ status: 400, code: 'InvalidArgument', message: 'runtime: custom is not supported by layer' }));

    const result = await readJson<PublishResult>(cloud, RESULT_KEY);
    expect(result?.error).toMatchObject({ code: 'FcRejected', retryable: false });
    expect(result?.error?.message).toMatch(/InvalidArgument/);
    expect(result?.error?.message).toMatch(/custom is not supported/);
    await check([run]);
  });

  it('a 409 ConcurrentUpdateError once is transient: retried, published', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, camelCase({ status: 409, code: 'ConcurrentUpdateError', message: 'concurrent update' }));

    expect(run.error).toBeUndefined();
    expectPublished(run);
    await check([run]);
  });
});

describe("FC 3.0 errors in FC 3.0's body (Code, Message, RequestId)", () => {
  const fc3 = { deliver: { env: { FC_API_VERSION: '2023-03-30' } } };
  const fault = (status: number, code: string, message: string) => () =>
    env.cloud.fc.faults.inject({ match: fcAction('CreateLayerVersion'), status, code, message });

  it("a 400 is FcRejected and quotes FC's own code and message", async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, fault(400, 'InvalidArgument', 'runtime: custom is not supported by layer'), fc3);

    const result = await readJson<PublishResult>(cloud, RESULT_KEY);
    expect(result?.error).toMatchObject({ code: 'FcRejected', retryable: false });
    expect(result?.error?.message).toContain('failed with HTTP 400 InvalidArgument: runtime: custom is not supported by layer');
    const refused = cloud.fc.requests.entries.find((entry) => entry.action === 'CreateLayerVersion');
    expect(refused).toMatchObject({ apiVersion: '2023-03-30', status: 400, code: 'InvalidArgument' });
    await check([run]);
  });

  it('a 503 once is transient: retried, published', async () => {
    const { cloud } = env;
    const { run, check } = await deliverUnder(cloud, fault(503, 'ServiceUnavailable', 'busy'), fc3);

    expect(run.error).toBeUndefined();
    expectPublished(run);
    await check([run]);
  });
});
