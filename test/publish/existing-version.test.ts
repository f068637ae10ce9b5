import { describe, expect, it } from 'vitest';
import type { LayerVersion } from '../../src/fc/layers';
import { findExistingVersion, holdsSameLayer } from '../../src/publish/existing-version';
import { checkAllowed, checkZipSize } from '../../src/publish/checks';
import { parseAllowedLayers } from '../../src/config';
import { InvalidInputError } from '../../src/errors';

const manifest = { layerName: 'left-pad', description: 'pads', compatibleRuntime: ['nodejs20', 'nodejs18'] as ('nodejs20' | 'nodejs18')[] };
const CRC = '11051210869376104954';

function version(n: number, fields: Partial<LayerVersion> = {}): LayerVersion {
  return {
    layerName: 'left-pad',
    version: n,
    description: 'pads',
    compatibleRuntime: ['nodejs18', 'nodejs20'],
    codeChecksum: CRC,
    arn: undefined,
    createTime: undefined,
    raw: {},
    ...fields,
  };
}

/** A ListLayerVersions stand-in over `versions`, recording which start versions were asked for. */
function lister(versions: LayerVersion[]) {
  const asked: number[] = [];
  const list = async (from: number) => {
    asked.push(from);
    return versions.filter((v) => v.version >= from).sort((a, b) => b.version - a.version);
  };
  return { list, asked };
}

describe('findExistingVersion (docs/contract.md §5 step 5, §7)', () => {
  it('no versions: none, newest 0', async () => {
    expect(await findExistingVersion(lister([]).list, manifest, CRC, undefined)).toEqual({ kind: 'none', newestVersion: 0 });
  });

  it('the latest holds the same layer: unchanged', async () => {
    const result = await findExistingVersion(lister([version(1, { codeChecksum: '1' }), version(2)]).list, manifest, CRC, undefined);
    expect(result).toMatchObject({ kind: 'unchanged', version: { version: 2 } });
  });

  it('only an older version holds it: none, with the newest number', async () => {
    const result = await findExistingVersion(lister([version(1), version(2, { codeChecksum: '1' })]).list, manifest, CRC, undefined);
    expect(result).toEqual({ kind: 'none', newestVersion: 2 });
  });

  it('without an intent nothing is adopted, even a newer matching version below the latest', async () => {
    const result = await findExistingVersion(lister([version(3), version(4, { description: 'other' })]).list, manifest, CRC, undefined);
    expect(result).toEqual({ kind: 'none', newestVersion: 4 });
  });

  it('with an intent, a matching version above it is adopted however many came since, listing only those', async () => {
    const versions = [version(5), ...Array.from({ length: 30 }, (_, i) => version(6 + i, { codeChecksum: String(i) }))];
    const { list, asked } = lister(versions);
    const result = await findExistingVersion(list, manifest, CRC, 4);
    expect(result).toMatchObject({ kind: 'adopt', version: { version: 5 } });
    expect(asked).toEqual([5]);
  });

  it('with an intent but nothing above it: the latest decides', async () => {
    const { list, asked } = lister([version(3)]);
    expect(await findExistingVersion(list, manifest, CRC, 3)).toMatchObject({ kind: 'unchanged', version: { version: 3 } });
    expect(asked).toEqual([4, 1]);
  });
});

describe('holdsSameLayer', () => {
  it.each([
    ['another CRC', { codeChecksum: '1' }],
    ['another description', { description: 'other' }],
    ['one runtime fewer', { compatibleRuntime: ['nodejs20'] }],
    ['one runtime more', { compatibleRuntime: ['nodejs20', 'nodejs18', 'nodejs16'] }],
  ])('differs with %s', (_name, fields) => {
    expect(holdsSameLayer(version(1, fields), manifest, CRC)).toBe(false);
  });

  it('a missing description equals an empty one; runtime order does not matter', () => {
    const { description: _omitted, ...noDescription } = manifest;
    expect(holdsSameLayer(version(1, { description: '', compatibleRuntime: ['nodejs20', 'nodejs18'] }), noDescription, CRC)).toBe(true);
  });
});

describe('checks before any byte is read', () => {
  it('ALLOWED_LAYERS: a prefix entry applies under its prefix only; an entry without one everywhere', () => {
    const rules = parseAllowedLayers('layers/team-a/=team-a-*,shared-?');
    expect(() => checkAllowed('team-a-x', 'layers/team-a/x.zip', rules)).not.toThrow();
    expect(() => checkAllowed('shared-1', 'elsewhere/x.zip', rules)).not.toThrow();
    expect(() => checkAllowed('team-a-x', 'layers/team-b/x.zip', rules)).toThrow(/team-a-x.*shared-\?/);
    expect(() => checkAllowed('anything', 'x.zip', [])).not.toThrow();
  });

  it('the refusal is LayerNotAllowed, permanent', () => {
    const error = (() => {
      try {
        checkAllowed('x', 'layers/x.zip', parseAllowedLayers('y'));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ code: 'LayerNotAllowed', retryable: false });
  });

  it('size: over the limit is ZipTooLarge naming MAX_ZIP_BYTES; 0 bytes is ZipInvalid; the limit itself passes', () => {
    expect(() => checkZipSize(101, 'a.zip', 100)).toThrow(expect.objectContaining({ code: 'ZipTooLarge', message: expect.stringContaining('MAX_ZIP_BYTES') }));
    expect(() => checkZipSize(0, 'a.zip', 100)).toThrow(expect.objectContaining({ code: 'ZipInvalid' }));
    expect(() => checkZipSize(100, 'a.zip', 100)).not.toThrow();
  });
});
