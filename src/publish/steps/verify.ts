import type { Manifest } from '../../manifest/manifest';
import type { ObjectHead } from '../../oss/store';
import type { ZipReader } from '../../regions/spool';
import { checkLayout } from '../../zip';
import { readAndVerifyZip, type VerifiedZip } from '../verify-zip';
import { retrying, type Flow } from './context';

/** Step 4: the zip read once, its CRC-64 and structure checked, its layout against the runtimes. */
export async function verify(flow: Flow, zip: ObjectHead, manifest: Manifest, reader: ZipReader = flow.deps.store): Promise<VerifiedZip> {
  const { deps } = flow;
  // Reads are If-Match on one ETag: the bytes cannot differ between two reads in one flow.
  const verified = await flow.zipCheck.once(async () => {
    flow.log.info('zip.read', { size: zip.size });
    const read = await retrying(flow, 'zip.read', () => {
      // A stalled body has no timeout of its own: stop reading while there is time to write a result.
      const signal = AbortSignal.timeout(Math.max(0, Math.floor(deps.deadline.remainingMs() - deps.retry.reserveMs)));
      return readAndVerifyZip(reader, flow.input.keys.zip, zip, { concurrency: deps.readConcurrency, maxUnpackedBytes: deps.maxUnpackedBytes, signal });
    });
    flow.log.info('zip.verified', {
      crc64: read.crc64,
      bytes: read.bytesRead,
      ms: Math.round(read.elapsedMs),
      mbPerSecond: Math.round(read.bytesRead / 1e3 / Math.max(read.elapsedMs, 1)),
      entries: read.contents.entryCount,
    });
    return read;
  });
  // The CRC-64 is known (and in every result) before the layout is judged against the runtimes.
  checkLayout(verified.contents, manifest.compatibleRuntime);
  return verified;
}
