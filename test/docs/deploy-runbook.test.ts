import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSYaml } from '../deploy/s-yaml';

/** docs/deploy.md: its commands read the names from shell variables it sets from s.yaml's defaults. */
const RUNBOOK = readFileSync('docs/deploy.md', 'utf8');

/** Which of s.yaml's vars each variable of the runbook stands for. */
const STANDS_FOR: Record<string, string> = {
  REGION: 'region',
  BUCKET: 'bucket',
  PREFIX: 'prefix',
  ROLE: 'roleName',
  QUEUE: 'failureQueue',
  LOG_PROJECT: 'logProject',
  LOG_STORE: 'logStore',
};

/** The runbook's shell blocks, joined. */
const shell = [...RUNBOOK.matchAll(/^\s*```sh\n([\s\S]*?)^\s*```$/gm)].map((match) => match[1]!).join('\n');

describe('docs/deploy.md', () => {
  it("sets each name to s.yaml's value", () => {
    const exported = Object.fromEntries([...shell.matchAll(/^export (\w+)=(\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
    const vars = readSYaml().vars as Record<string, string>;
    expect(exported).toEqual(Object.fromEntries(Object.entries(STANDS_FOR).map(([variable, name]) => [variable, vars[name]])));
  });

  it("says which FC API s.yaml deploys", () => {
    expect(RUNBOOK).toContain(`\`s.yaml\` sets \`FC_API_VERSION: '${readSYaml().resources.publisher.props.environmentVariables.FC_API_VERSION}'\``);
  });

  it('uses no variable it does not set, but the credentials', () => {
    const used = new Set([...shell.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]!));
    const unknown = [...used].filter((name) => !(name in STANDS_FOR) && !name.startsWith('ALIBABA_CLOUD_'));
    expect(unknown).toEqual([]);
  });

  it("names the role's documents that npm run deploy:policies writes, and every var of s.yaml", () => {
    for (const file of ['deploy/trust-policy.json', 'deploy/ram-policy.json', 'deploy/staging-lifecycle.xml']) expect(RUNBOOK).toContain(file);
    for (const name of Object.keys(readSYaml().vars as object)) expect(RUNBOOK, name).toContain(`\`${name}\``);
  });
});
