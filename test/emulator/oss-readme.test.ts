import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SERVED_OPERATIONS } from '../../src/emulator';

it('docs/local-stack.md\'s table of what the local OSS serves names every operation it serves', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'docs', 'local-stack.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## What the local OSS serves'), readme.indexOf('## Retention, audit and drift, locally'));
  const rows = section.split('\n').filter((line) => line.startsWith('| ') && line.includes('| yes |'));
  const named = new Set(rows.flatMap((row) => row.split('|')[1]!.split(/[,\s]+/)));
  expect(SERVED_OPERATIONS.filter((operation) => !named.has(operation))).toEqual([]);
});
