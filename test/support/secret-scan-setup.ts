import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { TEST_CREDENTIALS } from './cloud';
import { TEST_DINGTALK_SECRET, TEST_DINGTALK_TOKEN, TEST_WEBHOOK_SECRET } from './receiver';

/** Below this, the scan would pass because it saw nothing: the suite writes far more. */
const MIN_SCANNED = 200;
/** `npm test` runs the whole suite; a developer running one file may record nothing at all. */
const fullSuite = process.env.npm_lifecycle_event === 'test';

const FORBIDDEN: Array<[string, RegExp]> = [
  ['the access key secret', new RegExp(escapeRegExp(TEST_CREDENTIALS.accessKeySecret))],
  ['the security token', new RegExp(escapeRegExp(TEST_CREDENTIALS.securityToken))],
  ['the webhook secret', new RegExp(escapeRegExp(TEST_WEBHOOK_SECRET))],
  ['the DingTalk signing secret', new RegExp(escapeRegExp(TEST_DINGTALK_SECRET))],
  ['the DingTalk access token', new RegExp(escapeRegExp(TEST_DINGTALK_TOKEN))],
  ['an OSS or FC signature', /\b(OSS|FC) STS\.[A-Za-z0-9.]+:[A-Za-z0-9+/=]{10,}/],
  ['a signed-URL signature', /[?&](x-oss-)?signature=[A-Za-z0-9%+/=]{6,}/i],
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'secret-scan-'));
  project.provide('secretScanDir', dir);
  return () => {
    try {
      let scanned = 0;
      const findings: string[] = [];
      for (const file of readdirSync(dir)) {
        for (const line of readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean)) {
          const { source, text } = JSON.parse(line) as { source: string; text: string };
          scanned += 1;
          for (const [what, pattern] of FORBIDDEN) {
            if (pattern.test(text)) findings.push(`${what} in ${source}`);
          }
        }
      }
      // vitest reports an error thrown here but still exits 0: set the exit code so CI fails.
      const problem =
        findings.length > 0
          ? `secret scan: ${findings.length} finding(s):\n${findings.slice(0, 20).join('\n')}`
          : scanned < MIN_SCANNED && fullSuite
            ? `secret scan: only ${scanned} lines and objects were recorded; expected at least ${MIN_SCANNED}`
            : undefined;
      if (problem !== undefined) {
        process.exitCode = 1;
        console.error(problem);
      } else {
        console.log(`secret scan: ${scanned} log lines and written objects, no secret found`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
