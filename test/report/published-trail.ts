import { afterEach, beforeEach } from 'vitest';
import { runCli } from '../../src/cli/run';
import { handleOssEvent } from '../../src/handler';
import type { Summary } from '../../src/publish/result';
import { TEST_ACCOUNT_ID, TEST_BUCKET, TEST_CREDENTIALS, testContext, startLoopbackCloud, type LoopbackCloud } from '../support/cloud';
import { manifestBytes } from '../support/layers';
import { recordForSecretScan, recordWrittenObjects } from '../support/secret-scan';

/** A fresh cloud on loopback sockets for each test: the CLI reaches it over HTTP, as from a laptop. */
export function useLoopbackCloud(): { readonly cloud: LoopbackCloud } {
  let current: LoopbackCloud | undefined;
  beforeEach(async () => {
    current = await startLoopbackCloud();
  });
  afterEach(async () => {
    if (current === undefined) return;
    await recordWrittenObjects(current);
    await current.close();
    current = undefined;
  });
  return {
    get cloud() {
      if (current === undefined) throw new Error('the cloud exists only inside a test');
      return current;
    },
  };
}

let invocations = 0;

/**
 * Uploads the manifest and the zip as a person would, then hands the zip's OSS event to the
 * handler, as Function Compute would: a real publish, leaving its real result and audit record.
 */
export async function publishThroughHandler(
  cloud: LoopbackCloud,
  stem: string,
  zip: Uint8Array,
  manifest: unknown,
  env: Record<string, string> = {},
): Promise<Summary> {
  await cloud.oss.putObject(TEST_BUCKET, `${stem}.layer.json`, manifestBytes(manifest));
  await cloud.oss.putObject(TEST_BUCKET, `${stem}.zip`, zip);
  return deliverEvent(cloud, `${stem}.zip`, {}, env);
}

/** The OSS event of the object at `key` as it is now, handed to the handler (with `overrides`, such as another uploader). */
export async function deliverEvent(
  cloud: LoopbackCloud,
  key: string,
  overrides: Record<string, unknown> = {},
  env: Record<string, string> = {},
): Promise<Summary> {
  const event = { ...(await cloud.oss.objectCreatedEvent(TEST_BUCKET, key)), ...overrides };
  const lines: string[] = [];
  invocations += 1;
  const summary = await handleOssEvent(
    Buffer.from(JSON.stringify({ events: [event] })),
    { ...testContext(`trail-request-${invocations}`), function: { timeout: 60 } },
    {
      env: { OSS_ENDPOINT: cloud.ossEndpoint, FC_ENDPOINT: cloud.fcEndpoint, ...env },
      write: (line) => lines.push(line),
    },
  );
  for (const line of lines) recordForSecretScan('handler log', line);
  return summary;
}

/** The flags that point the CLI at this cloud's bucket. */
export function ossFlags(cloud: LoopbackCloud): string[] {
  return ['--bucket', TEST_BUCKET, '--endpoint', cloud.ossEndpoint];
}

/** The flags that point the CLI at this cloud's Function Compute too. */
export function fcFlags(cloud: { fcEndpoint: string }): string[] {
  return ['--fc-endpoint', cloud.fcEndpoint, '--account-id', TEST_ACCOUNT_ID];
}

/** Runs `layer-publisher <argv>` with the test account's key in the environment, as a user sets it. */
export function runCommand(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return runCommandWith({}, ...argv);
}

/** `runCommand` with more variables in the command's environment (NOTIFY_*). */
export async function runCommandWith(more: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const env = {
    ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_CREDENTIALS.accessKeySecret,
    ALIBABA_CLOUD_SECURITY_TOKEN: TEST_CREDENTIALS.securityToken,
    ...more,
  };
  const code = await runCli(argv, { out: (text) => void (out += text), err: (text) => void (err += text), env, interactive: false });
  recordForSecretScan('cli output', out + err);
  return { code, out, err };
}

/** The audit records under _audit/records/, oldest first, as the publisher wrote them. */
export async function auditRecordKeys(cloud: LoopbackCloud): Promise<string[]> {
  return (await cloud.oss.listKeys(TEST_BUCKET, '_audit/records/')).sort();
}

/**
 * Rewrites an audit record as a publisher that records provenance writes it:
 * the same record, with who uploaded the zip and the manifest.
 */
export async function addProvenance(cloud: LoopbackCloud, recordKey: string, provenance: Record<string, unknown>): Promise<void> {
  const record = JSON.parse(Buffer.from((await cloud.oss.readObject(TEST_BUCKET, recordKey))!).toString('utf8')) as Record<string, unknown>;
  await cloud.oss.putObject(TEST_BUCKET, recordKey, Buffer.from(JSON.stringify({ ...record, provenance }, null, 2)));
}

export function provenanceOf(principalId: string, sourceIp: string, eventTime: string) {
  return {
    zip: { principalId, sourceIp, ossRequestId: `zip-${eventTime}`, eventTime },
    manifest: { principalId, sourceIp, ossRequestId: `manifest-${eventTime}`, eventTime },
    functionRequestId: `fn-${eventTime}`,
    fcRequestId: `fc-${eventTime}`,
  };
}
