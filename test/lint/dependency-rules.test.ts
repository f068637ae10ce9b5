import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../local/bundles';

/**
 * .dependency-cruiser.cjs over a small tree that breaks each rule once, and over one that keeps
 * them: the rules `npm run lint` applies to src/ catch what they name, and nothing else.
 */
const BREAKS: Record<string, string> = {
  'src/index.ts': "export { handler } from './handler';\n",
  // The function reaches the emulator through a helper, two steps away.
  'src/handler.ts': "import { key } from './keys';\nexport const handler = (): string => key;\n",
  'src/keys.ts': "import { fake } from './emulator/fake';\nexport const key = fake;\n",
  'src/emulator/fake.ts': "export const fake = 'fake';\n",
  // A cycle through a type-only import.
  'src/publish/result.ts': "import type { Retention } from './retention';\nexport interface Result { retention?: Retention }\n",
  'src/publish/retention.ts': "import type { Result } from './result';\nexport interface Retention { of?: Result }\n",
  // A wrapper of a service that imports a step.
  'src/fc/layers.ts': "import type { Result } from '../publish/result';\nexport type Layers = Result[];\n",
  // The CLI and the local stack importing each other, and the shared console importing the CLI.
  'src/cli/run.ts': "import { start } from '../local/main';\nexport const run = start;\n",
  'src/local/main.ts': "import { help } from '../cli/help';\nexport const start = help;\n",
  'src/cli/help.ts': "export const help = 'help';\n",
  'src/console/io.ts': "import { run } from '../cli/run';\nexport const io = run;\n",
};

const KEEPS: Record<string, string> = {
  'src/index.ts': "import { key } from './keys';\nexport const handler = (): string => key;\n",
  'src/keys.ts': "export const key = 'k';\n",
  'src/console/io.ts': "export const io = 'io';\n",
  'src/cli/run.ts': "import { io } from '../console/io';\nexport const run = io;\n",
  'src/local/main.ts': "import { io } from '../console/io';\nimport { fake } from '../emulator/fake';\nexport const start = io + fake;\n",
  'src/emulator/fake.ts': "export const fake = 'fake';\n",
};

let root: string;

async function tree(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  for (const [path, text] of Object.entries({ ...files, 'tsconfig.json': '{ "compilerOptions": { "strict": true } }\n' })) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

function cruise(dir: string): Promise<Violation[]> {
  const bin = join(REPO, 'node_modules', '.bin', 'depcruise');
  return new Promise((resolve, reject) => {
    execFile(bin, ['src', '--config', join(REPO, '.dependency-cruiser.cjs'), '--output-type', 'json'], { cwd: dir }, (error, stdout) => {
      // depcruise exits non-zero when a rule is broken: the JSON on stdout says which.
      if (stdout === '') reject(error ?? new Error('depcruise printed nothing'));
      else resolve((JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations);
    });
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dependency-rules-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the dependency rules of npm run lint', () => {
  it('each rule catches the import it forbids, type-only imports included', async () => {
    const violations = await cruise(await tree('breaks', BREAKS));
    const found = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
    expect(found).toEqual([
      'cli-and-local-stack-apart: src/cli/run.ts -> src/local/main.ts',
      'console-below-its-users: src/console/io.ts -> src/cli/run.ts',
      'function-bundle-has-no-tools: src/index.ts -> src/emulator/fake.ts',
      'local-stack-and-cli-apart: src/local/main.ts -> src/cli/help.ts',
      'no-cycle: src/publish/result.ts -> src/publish/retention.ts',
      'sdk-wrappers-import-no-step: src/fc/layers.ts -> src/publish/result.ts',
    ]);
  }, 60_000);

  it('a tree that keeps them passes: the local stack may use the emulator, both tools the console', async () => {
    expect(await cruise(await tree('keeps', KEEPS))).toEqual([]);
  }, 60_000);
});
