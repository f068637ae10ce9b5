import { ServiceError, sleep } from './service';

/**
 * A scripted misbehaviour: which requests it hits and what happens to them. With neither `status`
 * nor `cutBodyAfterBytes` it only delays.
 */
export interface Fault<Target> {
  /** Which requests count; all of them when absent. */
  match?: (target: Target) => boolean;
  /** The first matching request to hit, 1-based (default 1): `nth: 3` lets two through. */
  nth?: number;
  /** How many consecutive matching requests to hit from `nth` on (default 1; `Infinity` for all). */
  times?: number;
  /** Wait this long before answering (a slow service, a timeout). */
  delayMs?: number;
  /** Answer with this status and the service's error shape instead of the real answer. */
  status?: number;
  code?: string;
  message?: string;
  /**
   * Carry out the operation, then answer with `status` anyway: an outcome the client cannot know
   * (the write happened, the response was lost).
   */
  afterHandling?: boolean;
  /** Send the headers and this many body bytes, then break the body with an error. */
  cutBodyAfterBytes?: number;
  /** Send the body slowly: wait this long before each piece (64 KiB or less) of it. */
  pieceDelayMs?: number;
}

interface ArmedFault<Target> {
  fault: Fault<Target>;
  seen: number;
}

/** Holds the faults a test armed and applies them to the requests they match. */
export class FaultInjector<Target> {
  private armed: ArmedFault<Target>[] = [];

  inject(fault: Fault<Target>): void {
    this.armed.push({ fault, seen: 0 });
  }

  clear(): void {
    this.armed = [];
  }

  /**
   * Runs `handle` for one request as the first fault that hits it dictates. Every armed fault
   * counts the requests it matches, so `nth` means the nth matching request since it was armed.
   */
  async apply(target: Target, handle: () => Promise<Response>): Promise<Response> {
    const fault = this.hit(target);
    if (fault === undefined) return handle();
    if (fault.delayMs !== undefined) await sleep(fault.delayMs);
    if (fault.status === undefined) return slowBody(cutBody(await handle(), fault.cutBodyAfterBytes), fault.pieceDelayMs);
    if (fault.afterHandling) await handle();
    throw new ServiceError(fault.status, fault.code ?? 'InternalError', fault.message ?? 'Injected fault.');
  }

  private hit(target: Target): Fault<Target> | undefined {
    let chosen: Fault<Target> | undefined;
    for (const armed of this.armed) {
      if (armed.fault.match !== undefined && !armed.fault.match(target)) continue;
      armed.seen += 1;
      const first = armed.fault.nth ?? 1;
      const last = first + (armed.fault.times ?? 1) - 1;
      if (chosen === undefined && armed.seen >= first && armed.seen <= last) chosen = armed.fault;
    }
    return chosen;
  }
}

/** Passes `limit` bytes of the body on, then errors the stream, as a dropped connection would. */
function cutBody(response: Response, limit: number | undefined): Response {
  if (limit === undefined || response.body === null) return response;
  const reader = response.body.getReader();
  let sent = 0;
  const truncated = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      const room = limit - sent;
      if (value.byteLength < room) {
        sent += value.byteLength;
        return controller.enqueue(value);
      }
      if (room > 0) controller.enqueue(value.subarray(0, room));
      sent = limit;
      controller.error(new Error(`Body cut after ${limit} bytes by an injected fault`));
      await reader.cancel();
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(truncated, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** Holds each piece of the body back for `delayMs`: a slow or stalled connection. */
function slowBody(response: Response, delayMs: number | undefined): Response {
  if (delayMs === undefined || response.body === null) return response;
  const reader = response.body.getReader();
  const slowed = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await sleep(delayMs);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(slowed, { status: response.status, statusText: response.statusText, headers: response.headers });
}
