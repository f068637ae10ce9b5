import { describe, expect, it } from 'vitest';
import type { TrailEntry } from '../../src/report/trail';
import { TEST_ACCOUNT_ID } from '../support/cloud';
import { NODE_MANIFEST, nodejsLayerZip } from '../support/layers';
import { ossFlags, publishThroughHandler, runCommand, useLoopbackCloud } from '../report/published-trail';

/** What provenance and retention leave in the bucket, as `layer-publisher audit` shows it. */
const env = useLoopbackCloud();

describe('layer-publisher audit after real publishes with provenance and retention', () => {
  it('shows who uploaded each version, the FC request that made it, and what retention deleted or kept', async () => {
    const { cloud } = env;
    const manifest = { ...NODE_MANIFEST, retain: 1 };
    await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v1'), manifest);
    cloud.fc.seedFunction({ functionName: 'render', layers: [{ layerName: 'left-pad', version: 1 }] });
    await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v2'), manifest);
    await publishThroughHandler(cloud, 'layers/left-pad', nodejsLayerZip('v3'), manifest);

    const { code, out } = await runCommand('audit', ...ossFlags(cloud), '--json');

    expect(code).toBe(0);
    const entries = JSON.parse(out) as TrailEntry[];
    const creates = cloud.fc.requests.entries.filter((r) => r.action === 'CreateLayerVersion');
    const published = entries.filter((e) => e.status === 'published');
    expect(published.map((e) => [e.version, e.provenance.zip?.principalId, e.provenance.zip?.sourceIp, e.provenance.fcRequestId])).toEqual(
      creates.map((create, index) => [index + 1, TEST_ACCOUNT_ID, '127.0.0.1', create.requestId]),
    );
    for (const entry of published)
      expect(entry.provenance).toMatchObject({ zip: { ossRequestId: expect.any(String), eventTime: expect.any(String) }, functionRequestId: entry.requestId });
    const retention = entries.filter((e) => e.kind === 'deleted' || e.kind === 'kept').map((e) => [e.kind, e.version, e.reason]);
    expect(retention).toEqual([
      ['kept', 1, 'in use by default/render'],
      ['kept', 1, 'in use by default/render'],
      ['deleted', 2, 'older than the 1 newest version'],
    ]);
    expect(cloud.fc.versions('left-pad').map((v) => v.version)).toEqual([1, 3]);

    const table = await runCommand('audit', ...ossFlags(cloud));
    expect(table.out).toContain(TEST_ACCOUNT_ID);
    expect(table.out).toMatch(/deleted/);
  });
});
