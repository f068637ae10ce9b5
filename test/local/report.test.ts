import { describe, expect, it } from 'vitest';
import { stackDescriber } from '../../src/local/report';

/** What npm start's human log prints for one handler log line. */
function described(fields: Record<string, unknown>): string | undefined {
  return stackDescriber()({ kind: 'log', line: JSON.stringify({ level: 'info', ...fields }) });
}

describe("npm start's human log", () => {
  it('says which versions retention deleted, or would, and which it kept for the functions using them', () => {
    expect(described({ step: 'retention.done', layerName: 'pillow', keep: 1, kept: [], deleted: [1, 2], failed: [] })).toBe(
      '  retention (keep 1): pillow deleted versions 1, 2',
    );
    expect(described({ step: 'retention.done', layerName: 'pillow', region: 'cn-shanghai', keep: 2, kept: [3], deleted: [1], failed: [] })).toBe(
      '  retention (keep 2): pillow in cn-shanghai deleted version 1; kept version 3, still in use by functions',
    );
    expect(described({ step: 'retention.done', layerName: 'pillow', keep: 1, dryRun: true, kept: [], deleted: [4], failed: [] })).toBe(
      '  retention (keep 1): pillow would delete version 4',
    );
    expect(described({ step: 'retention.done', layerName: 'pillow', keep: 5, kept: [], deleted: [], failed: [] })).toBeUndefined();
  });

  it('says when a layer becomes public or private', () => {
    expect(described({ step: 'layer.acl', layerName: 'pillow', public: true })).toBe('  ACL: layer pillow is now public: any account can use its versions');
    expect(described({ step: 'layer.acl', layerName: 'pillow', public: false, region: 'cn-beijing' })).toBe(
      '  ACL: layer pillow in cn-beijing is now private to this account',
    );
  });
});
