import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { OssEventRecord } from '../emulator';
import type { Summary } from '../publish/result';
import { FUNCTION_TIMEOUT_SECONDS, LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../console/local-account';
import type { HostReply, HostRequest } from './host-protocol';

export interface InvokerOptions {
  /** `dist/index.js`: the same bundle Function Compute runs. */
  handlerBundle: string;
  /** `dist/local-host.js`, which loads the bundle in a child process. */
  hostScript: string;
  /** The function's variables that point it at the local services (OSS_ENDPOINT, FC_ENDPOINT, REGIONS…), over the shell's. */
  env: Record<string, string>;
  /** Each line the handler writes to stdout (its JSON log lines), as written. */
  onLogLine: (line: string) => void;
}

export type InvocationOutcome =
  | { kind: 'done'; requestId: string; summary: Summary; peakRssBytes: number }
  | { kind: 'rejected'; requestId: string; message: string; peakRssBytes: number };

/**
 * Runs the handler bundle in one long-lived child process, one invocation at a time as a
 * single-instance function would. The child's stdout is the handler's own log stream.
 */
export class HandlerInvoker {
  /** The child's peak RSS once the bundle was loaded, before any invocation. */
  readonly startRssBytes: number;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly child: ChildProcess,
    startRssBytes: number,
  ) {
    this.startRssBytes = startRssBytes;
  }

  static async start(options: InvokerOptions): Promise<HandlerInvoker> {
    const child = fork(options.hostScript, [options.handlerBundle], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      execArgv: [],
    });
    createInterface({ input: child.stdout! }).on('line', options.onLogLine);
    const [ready] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(() => [undefined])])) as [HostReply | undefined];
    if (ready?.kind !== 'ready') throw new Error(`the handler host ${options.hostScript} exited before loading ${options.handlerBundle}`);
    return new HandlerInvoker(child, ready.peakRssBytes);
  }

  /** Delivers one OSS event record as Function Compute would, after those before it finished. */
  invoke(record: OssEventRecord): Promise<InvocationOutcome> {
    const run = this.queue.then(() => this.send(record));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill();
    await exited;
  }

  private async send(record: OssEventRecord): Promise<InvocationOutcome> {
    const id = this.nextId++;
    const requestId = `local-${randomBytes(8).toString('hex')}`;
    const request: HostRequest = {
      id,
      record,
      context: {
        requestId,
        region: LOCAL_REGION,
        accountId: LOCAL_ACCOUNT_ID,
        credentials: { ...LOCAL_CREDENTIALS },
        function: { name: 'oss-layer-publisher', timeout: FUNCTION_TIMEOUT_SECONDS },
      },
    };
    const reply = this.replyTo(id);
    this.child.send(request);
    const answer = await reply;
    return answer.kind === 'done'
      ? { kind: 'done', requestId, summary: answer.summary, peakRssBytes: answer.peakRssBytes }
      : { kind: 'rejected', requestId, message: answer.message, peakRssBytes: answer.peakRssBytes };
  }

  private replyTo(id: number): Promise<Exclude<HostReply, { kind: 'ready' }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: HostReply): void => {
        if (reply.kind === 'ready' || reply.id !== id) return;
        cleanup();
        resolve(reply);
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`the handler process exited (code ${code}) during an invocation`));
      };
      const cleanup = (): void => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.on('exit', onExit);
    });
  }
}
