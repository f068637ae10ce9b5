/**
 * urllib 2 (under ali-oss) reports a request whose body is cut in flight twice: once from the pipe of
 * the body into the request, and once from the request's own 'error' ("socket hang up"). The second
 * report finds its callback gone and prints "callback twice!!!" and the error on stderr. `publish`
 * cuts a part's request on purpose when the checks refuse the zip (one-pass-upload.ts), and reports
 * the refusal itself, so those two lines are an echo and are dropped. Every other line passes.
 */

/** urllib's own format strings (node_modules/urllib/lib/urllib.js, `done`). */
const DOUBLE_CALLBACK = '[urllib:warn] [%s] [%s] [worker:%s] %s %s callback twice!!!';
const DOUBLE_CALLBACK_ERROR = '[urllib:warn] [%s] [%s] [worker:%s] %s: %s\nstack: %s';

export interface EchoFilter {
  /** How many lines were dropped so far. */
  readonly dropped: number;
  /** Puts `warn` back as it was. */
  remove(): void;
}

export function dropCutRequestEchoes(target: Pick<Console, 'warn'> = console): EchoFilter {
  const original = target.warn;
  let dropped = 0;
  // The request id of the double callback just dropped: its error line follows at once, from the same call.
  let echoOf: unknown;
  target.warn = (...args: unknown[]) => {
    const [format, , requestId] = args;
    const echoed = echoOf;
    echoOf = format === DOUBLE_CALLBACK ? requestId : undefined;
    if (format === DOUBLE_CALLBACK || (format === DOUBLE_CALLBACK_ERROR && echoed !== undefined && requestId === echoed)) {
      dropped += 1;
      return;
    }
    original.apply(target, args);
  };
  return {
    get dropped() {
      return dropped;
    },
    remove() {
      target.warn = original;
    },
  };
}
