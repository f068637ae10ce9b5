import type { OssEventRecord } from '../emulator';
import type { FcContext } from '../invocation';
import type { Summary } from '../publish/result';

/** One invocation, parent to handler host. */
export interface HostRequest {
  id: number;
  record: OssEventRecord;
  context: FcContext;
}

/** Handler host to parent. `peakRssBytes` is the host's peak resident memory so far. */
export type HostReply =
  | { kind: 'ready'; peakRssBytes: number }
  | { kind: 'done'; id: number; summary: Summary; peakRssBytes: number }
  | { kind: 'rejected'; id: number; message: string; peakRssBytes: number };
