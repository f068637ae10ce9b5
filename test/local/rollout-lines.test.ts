import { describe, expect, it } from 'vitest';
import { stackDescriber } from '../../src/local/report';

/** What `npm start` prints for the rollout's log lines (docs/rollout.md walks through them). */
describe('npm start: rollout and canary lines', () => {
  const describe1 = (entry: object) => stackDescriber()({ kind: 'log', line: JSON.stringify({ level: 'info', requestId: 'r', ...entry }) });
  const v = (n: number) => `acs:fc:cn-hangzhou:1000000000000001:layers/hello-layer/versions/${n}`;

  it('says which function moved from what to what, the canary, and the rollout at the end', () => {
    expect(describe1({ step: 'rollout.updated', functionName: 'hello-api', before: [v(1)], after: [v(2)] })).toBe(
      `  rollout: function hello-api now uses ${v(2)} (had ${v(1)})`,
    );
    expect(describe1({ step: 'rollout.updated', functionName: 'hello-api', before: [], after: [v(2)] })).toBe(
      `  rollout: function hello-api now uses ${v(2)} (had no layers)`,
    );
    expect(describe1({ step: 'rollout.canary', functionName: 'hello-api', alias: 'prod', weight: 0.1, functionVersion: '2' })).toBe(
      '  canary: alias prod of hello-api sends 0.1 of its traffic to function version 2',
    );
    expect(describe1({ step: 'rollout.done', layerName: 'hello-layer', functions: ['hello-api:updated', 'billing:notAllowed'] })).toBe(
      '  rollout of hello-layer: hello-api:updated, billing:notAllowed',
    );
  });
});
