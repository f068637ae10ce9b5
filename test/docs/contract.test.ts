import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The repository's copy; its opening note ends with this line, and the contract follows verbatim. */
const COPY = resolve('docs/contract.md');
const NOTE_END = 'end of note: everything below this line is the contract, verbatim\n-->\n';
/** The shared specification, which CI checks out beside the clone. */
const SHARED = resolve('..', 'shared', 'spec', 'CONTRACT.md');

/** What docs/contract.md says below its note; throws when the note's last line is missing. */
function contractBody(copy: string): string {
  const at = copy.indexOf(NOTE_END);
  if (at === -1) throw new Error(`docs/contract.md: its opening note must end with "${NOTE_END.trimEnd()}"`);
  return copy.slice(at + NOTE_END.length);
}

/** The first line where the copy and the shared text part, with both sides, or undefined when they agree. */
function firstDifference(copy: string, shared: string): string | undefined {
  if (copy === shared) return undefined;
  const ours = copy.split('\n');
  const theirs = shared.split('\n');
  const line = ours.findIndex((text, index) => text !== theirs[index]);
  const at = line === -1 ? ours.length : line;
  return `line ${at + 1} of the contract: docs/contract.md has ${JSON.stringify(ours[at] ?? '(end of file)')}, shared/spec/CONTRACT.md has ${JSON.stringify(theirs[at] ?? '(end of file)')}`;
}

describe('docs/contract.md', () => {
  it.skipIf(!existsSync(SHARED))(
    // Skipped only where the shared specification is not checked out beside the clone (a lone clone).
    'is word for word the shared specification ../shared/spec/CONTRACT.md',
    () => {
      const body = contractBody(readFileSync(COPY, 'utf8'));
      expect(firstDifference(body, readFileSync(SHARED, 'utf8'))).toBeUndefined();
    },
  );

  it('opens with a note that says where it comes from, and holds the contract below it', () => {
    const body = contractBody(readFileSync(COPY, 'utf8'));
    expect(body.startsWith("# The publisher's contract\n")).toBe(true);
    expect(body).toContain('## 7. Delivery, retries and exactly once');
  });

  it('names the line where a copy drifted, and takes an exact copy', () => {
    const body = contractBody(readFileSync(COPY, 'utf8'));
    expect(firstDifference(body, body)).toBeUndefined();
    const drifted = body.replace('## 6. The result', '## 6. The results');
    expect(firstDifference(drifted, body)).toMatch(
      /^line \d+ of the contract: docs\/contract\.md has "## 6\. The results", shared\/spec\/CONTRACT\.md has "## 6\. The result"$/,
    );
    // A copy cut short: its last line is the empty one after its final newline.
    expect(firstDifference(body.slice(0, body.indexOf('## Changes')), body)).toMatch(/has "", shared\/spec\/CONTRACT\.md has "## Changes"$/);
  });

  it('refuses a copy whose note lost its last line', () => {
    expect(() => contractBody("# The publisher's contract\n")).toThrow('docs/contract.md: its opening note must end with');
  });
});

/** The reference facts code comments cite (docs/reference/), each a copy of the shared one below a one-line note. */
const REFERENCES = ['alibaba-cloud', 'testing', 'crc64', 'anchors'];

describe('docs/reference/', () => {
  it.each(REFERENCES)('%s.md holds a note, then the facts with their sources', (name) => {
    const copy = readFileSync(resolve('docs', 'reference', `${name}.md`), 'utf8');
    expect(copy.startsWith('<!-- ')).toBe(true);
    expect(copy).toMatch(/https:\/\//);
  });

  it.each(REFERENCES.filter((name) => existsSync(resolve('..', 'shared', 'reference', `${name}.md`))))(
    // Only the files checked out beside the clone are compared (CI has them; a lone clone has none).
    '%s.md is word for word the shared reference below its note',
    (name) => {
      const copy = readFileSync(resolve('docs', 'reference', `${name}.md`), 'utf8');
      const body = copy.slice(copy.indexOf('-->\n\n') + '-->\n\n'.length);
      expect(body).toBe(readFileSync(resolve('..', 'shared', 'reference', `${name}.md`), 'utf8'));
    },
  );
});
