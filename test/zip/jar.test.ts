import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readPomProperties } from '../../src/zip/jar';
import { jar } from '../fixtures/zips/package-layers';

const pom = (text: string) => zipSync({ 'META-INF/maven/g/a/pom.properties': Buffer.from(text) }, { level: 6 });

describe('the pom.properties of a jar held in memory', () => {
  it('reads groupId, artifactId and version as java.util.Properties does: = : or space between, # and ! comments, CRLF', () => {
    expect(readPomProperties(pom('#Generated\n! also a comment\n  groupId = org.example\nartifactId:demo\r\nversion 1.2.3\n#version=9\n'), 65_536)).toEqual([
      { groupId: 'org.example', artifactId: 'demo', version: '1.2.3', path: 'META-INF/maven/g/a/pom.properties' },
    ]);
  });

  it('leaves out a pom.properties missing a key, one past the cap, and files elsewhere that are named so', () => {
    expect(readPomProperties(pom('groupId=org.example\nartifactId=demo\n'), 65_536)).toEqual([]);
    expect(readPomProperties(pom('groupId=g\nartifactId=a\nversion=1\n'), 8)).toEqual([]);
    const elsewhere = zipSync({ 'pom.properties': Buffer.from('groupId=g\nartifactId=a\nversion=1\n'), 'META-INF/maven/pom.properties': Buffer.from('') });
    expect(readPomProperties(elsewhere, 65_536)).toEqual([]);
  });

  it('refuses, as ZipInvalid naming the entry, a jar whose pom.properties does not unpack to its CRC-32, and bytes that are no zip', () => {
    const good = jar([{ groupId: 'org.example', artifactId: 'demo', version: '1.2.3' }]);
    const at = Buffer.from(good).indexOf(Buffer.from('META-INF/maven/org.example/demo/pom.properties'));
    expect(at).toBeGreaterThan(0);
    // The first occurrence is the local header's name (fflate writes no local extra field), followed by
    // its deflated data: one byte of it flipped.
    const broken = Uint8Array.from(good);
    const dataAt = at + 'META-INF/maven/org.example/demo/pom.properties'.length;
    broken[dataAt + 2] = broken[dataAt + 2]! ^ 0xff;
    expect(() => readPomProperties(broken, 65_536)).toThrow(/jar entry "META-INF\/maven\/org\.example\/demo\/pom\.properties"/);
    expect(() => readPomProperties(Buffer.from('not a jar at all'), 65_536)).toThrow(expect.objectContaining({ code: 'ZipInvalid' }));
  });
});
