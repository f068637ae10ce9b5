import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enclosingFolders, parseEntryName, pathText } from '../../src/zip/entry-name';

/** What an extractor writes the name to, spelled out the long way: every segment looked at. */
function reference(name: string) {
  const segments = name.split('/').filter((part) => part !== '' && part !== '.');
  if (segments.length === 0) return 'root' as const;
  return { segments, isDirectory: name.endsWith('/'), key: segments.join('/') };
}

describe('parseEntryName', () => {
  it('gives the path the long way gives, for names with empty, "." and ".." segments anywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'bc', '.', '..', '/', '//', './', '.a', 'a.'), { maxLength: 8 }), (parts) => {
        const name = parts.join('');
        expect(parseEntryName(name)).toEqual(reference(name));
      }),
      { numRuns: 2000 },
    );
  });

  it('drops empty and "." segments, and keeps a directory’s trailing slash in its text', () => {
    expect(parseEntryName('./nodejs//node_modules/./a/')).toEqual({
      segments: ['nodejs', 'node_modules', 'a'],
      isDirectory: true,
      key: 'nodejs/node_modules/a',
    });
    expect(parseEntryName('./')).toBe('root');
    const path = parseEntryName('python/a/b.py');
    expect(path !== 'root' && pathText(path)).toBe('python/a/b.py');
  });

  it('names the folders a path lies in, outermost first', () => {
    const path = parseEntryName('nodejs//node_modules/a/index.js');
    expect(path !== 'root' && enclosingFolders(path)).toEqual(['nodejs', 'nodejs/node_modules', 'nodejs/node_modules/a']);
    const top = parseEntryName('bin/');
    expect(top !== 'root' && enclosingFolders(top)).toEqual([]);
  });
});
