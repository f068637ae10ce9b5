import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MANIFEST_SUFFIX, RESULT_SUFFIX, ZIP_SUFFIX, classifyKey, layerKeys, unaddressableReason } from '../src/keys';

const AUDIT = '_audit/';

describe('the three keys of a layer (docs/contract.md §3)', () => {
  it('suffixes are the documented ones', () => {
    expect([ZIP_SUFFIX, MANIFEST_SUFFIX, RESULT_SUFFIX]).toEqual(['.zip', '.layer.json', '.result.json']);
  });

  it('a zip at <dir>/<stem>.zip names its manifest and result', () => {
    expect(classifyKey('layers/pillow-10.zip', AUDIT)).toEqual({
      role: 'zip',
      keys: {
        base: 'layers/pillow-10',
        zip: 'layers/pillow-10.zip',
        manifest: 'layers/pillow-10.layer.json',
        result: 'layers/pillow-10.result.json',
      },
    });
  });

  it('a manifest at <dir>/<stem>.layer.json names its sibling zip', () => {
    expect(classifyKey('layers/pillow-10.layer.json', AUDIT)).toEqual({
      role: 'manifest',
      keys: {
        base: 'layers/pillow-10',
        zip: 'layers/pillow-10.zip',
        manifest: 'layers/pillow-10.layer.json',
        result: 'layers/pillow-10.result.json',
      },
    });
  });

  it('the zip and the manifest of one stem give the same keys', () => {
    expect(classifyKey('a/b/c/x.zip', AUDIT)!.keys).toEqual(classifyKey('a/b/c/x.layer.json', AUDIT)!.keys);
  });

  it('a zip at the top of the bucket has the empty dir', () => {
    expect(classifyKey('pillow.zip', AUDIT)?.keys).toEqual(layerKeys('pillow'));
  });

  it('deep folders are kept', () => {
    expect(classifyKey('a/b/c/d/e.zip', AUDIT)?.keys.result).toBe('a/b/c/d/e.result.json');
  });

  it('layerKeys builds all three from the base', () => {
    expect(layerKeys('x/y')).toEqual({ base: 'x/y', zip: 'x/y.zip', manifest: 'x/y.layer.json', result: 'x/y.result.json' });
  });
});

describe('keys are used verbatim, never decoded (docs/contract.md §3)', () => {
  it.each([
    'layers/团队 shared+v1/util layer',
    'layers/a b/c d',
    'layers/a+b',
    'layers/a%20b',
    'layers/a%2Fb',
    'layers/%E5%9B%A2',
    'layers/100%',
    'layers/Ünïcödé/名前',
    'layers/e\u0301', // e + combining acute: not normalised to é
    'layers//double-slash',
    'layers/😀',
    'layers/a?b#c&d=e',
  ])('%j', (base) => {
    const zip = classifyKey(`${base}.zip`, AUDIT);
    expect(zip?.role).toBe('zip');
    expect(zip?.keys).toEqual({
      base,
      zip: `${base}.zip`,
      manifest: `${base}.layer.json`,
      result: `${base}.result.json`,
    });
    const manifest = classifyKey(`${base}.layer.json`, AUDIT);
    expect(manifest?.role).toBe('manifest');
    expect(manifest?.keys).toEqual(zip?.keys);
  });

  it('the event fixture key with CJK, space and + maps as is', () => {
    const keys = classifyKey('layers/团队 shared+v1/util layer.zip', AUDIT)!.keys;
    expect(keys.manifest).toBe('layers/团队 shared+v1/util layer.layer.json');
    expect(keys.result).toBe('layers/团队 shared+v1/util layer.result.json');
  });
});

describe('keys that are ignored (docs/contract.md §3)', () => {
  it.each([
    ['a result', 'layers/pillow-10.result.json'],
    ['a result of a zip-like stem', 'layers/x.zip.result.json'],
    ['upper-case .ZIP', 'layers/pillow-10.ZIP'],
    ['mixed-case .Zip', 'layers/pillow-10.Zip'],
    ['upper-case .LAYER.JSON', 'layers/pillow-10.LAYER.JSON'],
    ['a plain .json', 'layers/pillow-10.json'],
    ['a .zip with no stem', 'layers/.zip'],
    ['a .layer.json with no stem', 'layers/.layer.json'],
    ['.zip at the top', '.zip'],
    ['.layer.json at the top', '.layer.json'],
    ['a folder marker', 'layers/'],
    ['a tarball', 'layers/pillow-10.tar.gz'],
    ['.zip not at the end', 'layers/pillow-10.zip.bak'],
    ['.zip with a trailing space', 'layers/pillow-10.zip '],
    ['zip without a dot', 'layers/pillowzip'],
    ['layer.json without the dot', 'layers/pillowlayer.json'],
    ['an audit record', '_audit/2026/11/20/x.json'],
    ['a zip under the audit prefix', '_audit/layers/pillow-10.zip'],
    ['a manifest under the audit prefix', '_audit/pillow-10.layer.json'],
    ['a claim marker', '_audit/claims/layers/pillow-10.zip'],
  ])('%s: %j', (_, key) => {
    expect(classifyKey(key, AUDIT)).toBeUndefined();
  });

  it('the audit prefix is whatever AUDIT_PREFIX says', () => {
    expect(classifyKey('ops/audit/x.zip', 'ops/audit/')).toBeUndefined();
    expect(classifyKey('_audit/x.zip', 'ops/audit/')?.role).toBe('zip');
  });

  it('only keys under the prefix folder are audit keys: a sibling with the same start is a layer', () => {
    expect(classifyKey('_audit.zip', AUDIT)?.role).toBe('zip');
    expect(classifyKey('_auditors/x.zip', AUDIT)?.role).toBe('zip');
    expect(classifyKey('layers/_audit/x.zip', AUDIT)?.role).toBe('zip');
  });
});

describe('suffix edge cases', () => {
  it('x.layer.json.zip is a zip whose stem is x.layer.json', () => {
    expect(classifyKey('layers/x.layer.json.zip', AUDIT)).toEqual({ role: 'zip', keys: layerKeys('layers/x.layer.json') });
  });

  it('x.zip.layer.json is the manifest of x.zip.zip', () => {
    expect(classifyKey('layers/x.zip.layer.json', AUDIT)).toEqual({ role: 'manifest', keys: layerKeys('layers/x.zip') });
  });

  it('x.zip.zip is a zip whose stem is x.zip', () => {
    expect(classifyKey('layers/x.zip.zip', AUDIT)?.keys.base).toBe('layers/x.zip');
  });

  it('a stem that is only dots is still a stem', () => {
    expect(classifyKey('layers/..zip', AUDIT)?.keys.base).toBe('layers/.');
  });
});

describe('properties', () => {
  const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => !s.includes('/'));
  const base = fc
    .tuple(fc.array(segment, { maxLength: 4 }), segment)
    .map(([dirs, stem]) => [...dirs, stem].join('/'))
    .filter((b) => !b.startsWith(AUDIT));

  it('zip and manifest keys map back to the same three keys; the result key is never a trigger', () => {
    fc.assert(
      fc.property(base, (b) => {
        const keys = layerKeys(b);
        expect(classifyKey(keys.zip, AUDIT)).toEqual({ role: 'zip', keys });
        expect(classifyKey(keys.manifest, AUDIT)).toEqual({ role: 'manifest', keys });
        expect(classifyKey(keys.result, AUDIT)).toBeUndefined();
      }),
    );
  });

  it('nothing under the audit prefix is ever a layer key', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (rest) => {
        expect(classifyKey(`${AUDIT}${rest}`, AUDIT)).toBeUndefined();
      }),
    );
  });

  it('keys come back exactly as given', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), fc.constantFrom('.zip', '.layer.json'), (b, suffix) => {
        const classified = classifyKey(b + suffix, AUDIT);
        if (classified === undefined) {
          expect(b.startsWith(AUDIT) || b.endsWith('/')).toBe(true);
          return;
        }
        expect(classified.keys.base).toBe(b);
        expect(suffix === '.zip' ? classified.keys.zip : classified.keys.manifest).toBe(b + suffix);
      }),
    );
  });
});

describe('keys no request can address', () => {
  it.each([
    ['layers/../x.zip', '..'],
    ['layers/./x.zip', '.'],
    ['../x.zip', '..'],
    ['a/b/./../x.layer.json', '.'],
  ])('%s has a "%s" segment: refused with the reason', (key, segment) => {
    expect(unaddressableReason(key)).toContain(`"${segment}" segment, which HTTP clients resolve before sending`);
  });

  it.each(['layers/x.zip', 'layers/.../x.zip', 'layers/..x/y.zip', 'layers/.hidden/x.zip', 'layers/x..zip', 'layers//x.zip'])(
    '%s is addressed as it is',
    (key) => {
      expect(unaddressableReason(key)).toBeUndefined();
    },
  );
});

describe('the evidence: what ali-oss sends for a key with dot segments', () => {
  it('layers/../x.zip goes out as /x.zip and a pre-encoded %2E is escaped again: no encoding addresses it', async () => {
    const { createServer } = await import('node:http');
    const { createOssStore } = await import('../src/oss/ali-oss-store');
    const paths: string[] = [];
    const server = createServer((request, response) => {
      paths.push(request.url ?? '');
      response.statusCode = 404;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const store = createOssStore({
        bucket: 'team-layers',
        region: 'cn-hangzhou',
        endpoint: new URL(`http://127.0.0.1:${port}`),
        credentials: { accessKeyId: 'probe', accessKeySecret: 'probe-secret' },
        timeoutMs: 5_000,
      });
      for (const key of ['layers/../x.zip', 'layers/./x.zip', 'layers/%2E%2E/x.zip', 'layers/.../x.zip']) await store.head(key);
    } finally {
      server.close();
    }
    expect(paths).toEqual(['/team-layers/x.zip', '/team-layers/layers/x.zip', '/team-layers/layers/%252E%252E/x.zip', '/team-layers/layers/.../x.zip']);
    expect(new URL('http://h/b/layers/%2E%2E/x.zip').pathname).toBe('/b/x.zip');
  });
});
