import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The repository's documents: README.md, CONTRIBUTING.md and docs/. */
const DOCUMENTS = ['README.md', 'CONTRIBUTING.md', ...readdirSync('docs').filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** A document without its fenced blocks: a `# comment` in a shell sample is no heading, a `[x](y)` in code no link. */
function prose(path: string): string {
  return readFileSync(path, 'utf8').replace(/^\s*```[\s\S]*?^\s*```$/gm, '');
}

/** The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** Every link of every document to a file of the repository that is not there, or to a heading it does not have. */
function brokenLinks(): string[] {
  const broken: string[] = [];
  for (const document of DOCUMENTS) {
    for (const [, target] of prose(document).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [file, anchor] = target!.split('#') as [string, string | undefined];
      const path = file === '' ? document : normalize(join(dirname(document), file));
      if (!existsSync(path)) broken.push(`${document}: ${target} (no ${path})`);
      else if (anchor !== undefined && !anchors(prose(path)).has(anchor)) broken.push(`${document}: ${target} (no heading #${anchor} in ${path})`);
    }
  }
  return broken;
}

describe('the documents', () => {
  it('link only to files and headings that exist', () => {
    expect(brokenLinks()).toEqual([]);
  });

  it('cite nothing outside the repository (docs/contract.md names where it is kept in step from, in its note)', () => {
    const outside = /\/work\/|shared\/(reference|spec)|CONTRACT(\.md| §)|\bissues? \d+/;
    const citing = DOCUMENTS.filter((document) => document !== 'docs/contract.md').flatMap((document) =>
      readFileSync(document, 'utf8')
        .split('\n')
        .map((line, index) => `${document}:${index + 1}: ${line}`)
        .filter((line) => outside.test(line)),
    );
    expect(citing).toEqual([]);
  });

  it('close every fenced block they open', () => {
    const unbalanced = DOCUMENTS.filter((document) => readFileSync(document, 'utf8').split('\n').filter((line) => /^\s*```/.test(line)).length % 2 === 1);
    expect(unbalanced).toEqual([]);
  });

  it('read headings as GitHub anchors them', () => {
    expect([...anchors('# The manifest: `<stem>.layer.json`\n## Several regions, locally: `--regions`\n## Options\n### Options\n')]).toEqual([
      'the-manifest-stemlayerjson',
      'several-regions-locally---regions',
      'options',
      'options-1',
    ]);
  });
});
