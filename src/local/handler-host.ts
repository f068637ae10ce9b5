/**
 * The child process that runs the published handler bundle, as Function Compute would run
 * `index.handler`. Its stdout carries only the handler's JSON log lines; answers go back over IPC,
 * with the process's peak RSS so the parent can show (and tests can check) that memory stays flat.
 */
import type { Summary } from '../publish/result';
import type { HostReply, HostRequest } from './host-protocol';

interface HandlerModule {
  handler(event: Buffer, context: unknown): Promise<Summary>;
}

const bundlePath = process.argv[2];
if (bundlePath === undefined || process.send === undefined) {
  process.stderr.write('usage: run by the local stack with the handler bundle path as argument, over IPC\n');
  process.exit(2);
}
// A runtime path: the bundle is loaded as it is, not bundled into this host.
const handlerModule = require(bundlePath) as HandlerModule;
const send = process.send.bind(process);

const peakRssBytes = (): number => process.resourceUsage().maxRSS * 1024;

process.on('message', (message: HostRequest) => {
  void invoke(message).then((reply) => send(reply));
});
send({ kind: 'ready', peakRssBytes: peakRssBytes() } satisfies HostReply);

async function invoke({ id, record, context }: HostRequest): Promise<HostReply> {
  const event = Buffer.from(JSON.stringify({ events: [record] }));
  try {
    const summary = await handlerModule.handler(event, context);
    return { kind: 'done', id, summary, peakRssBytes: peakRssBytes() };
  } catch (error) {
    return { kind: 'rejected', id, message: error instanceof Error ? error.message : String(error), peakRssBytes: peakRssBytes() };
  }
}
