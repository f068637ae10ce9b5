import { describe, expect, it } from 'vitest';
import { nearMissOf } from '../../src/publish/near-miss';

describe('the near miss a waiting result names', () => {
  it.each([
    ['another case', 'layers/x.zip', ['layers/x.ZIP'], 'layers/x.ZIP'],
    ['a stem in another case', 'layers/left-pad.zip', ['layers/Left-Pad.zip'], 'layers/Left-Pad.zip'],
    ['.json for .layer.json', 'layers/x.layer.json', ['layers/x.json', 'layers/x.zip'], 'layers/x.json'],
    ['a version after the stem', 'layers/x.zip', ['layers/x-1.2.zip', 'layers/x.layer.json'], 'layers/x-1.2.zip'],
    ['the manifest without the version the zip has', 'layers/x-1.2.layer.json', ['layers/x.layer.json'], 'layers/x.layer.json'],
    ['a stem two edits away', 'layers/left-pad.zip', ['layers/lfet-pad.zip'], 'layers/lfet-pad.zip'],
    ['the closest of several', 'layers/numpy.zip', ['layers/nmpy.zip', 'layers/numpy.Zip'], 'layers/numpy.Zip'],
  ])('%s', (_why, missing, listed, key) => {
    expect(nearMissOf(missing, listed)).toEqual({ key, fix: `rename ${key} to ${missing}` });
  });

  it.each([
    ['three edits away', 'layers/left-pad.zip', ['layers/lxft-pbx.zip']],
    ['half of a complete pair of its own', 'layers/left-pad.zip', ['layers/left-pan.zip', 'layers/left-pan.layer.json']],
    ['in another folder', 'layers/x.zip', ['other/x.zip', 'layers/sub/x.zip']],
    ['a result', 'layers/x.layer.json', ['layers/x.result.json']],
    ['nothing beside it', 'x.zip', []],
  ])('none: %s', (_why, missing, listed) => {
    expect(nearMissOf(missing, listed)).toBeUndefined();
  });
});
