import type { Manifest } from '../../manifest/manifest';
import type { ObjectHead } from '../../oss/store';
import type { ZipReader } from '../../regions/spool';
import { checkLayout } from '../../zip';
import { readAndVerifyZip, type VerifiedZip } from '../verify-zip';
import { retrying, type Flow } from './context';

/** Step 4: the zip read once, its CRC-64 and structure checked, its layout against the runtimes. */
export async function verify(flow: Flow, zip: ObjectHead, manifest: Manifest, reader: ZipReader = flow.deps.store): Promise<VerifiedZip> {
  const { deps, state } = flow;
  // Reads are If-Match on one ETag: the bytes cannot differ between two reads in one flow.
  if (state.verified) return state.verified;
  flow.log.info('zip.read', { size: zip.size });
  const verified = await retrying(flow, 'zip.read', () => {
    // A stalled body has no timeout of its own: stop reading while there is time to write a result.
    const signal = AbortSignal.timeout(Math.max(0, Math.floor(deps.deadline.remainingMs() - deps.retry.reserveMs)));
    return readAndVerifyZip(reader, flow.input.keys.zip, zip, { concurrency: deps.readConcurrency, maxUnpackedBytes: deps.maxUnpackedBytes, signal });
  });
  state.source.crc64 = verified.crc64;
  flow.log.info('zip.verified', {
    crc64: verified.crc64,
    bytes: verified.bytesRead,
    ms: Math.round(verified.elapsedMs),
    mbPerSecond: Math.round(verified.bytesRead / 1e3 / Math.max(verified.elapsedMs, 1)),
    entries: verified.contents.entryCount,
  });
  checkLayout(verified.contents, manifest.compatibleRuntime);
  state.verified = verified;
  return verified;
}
