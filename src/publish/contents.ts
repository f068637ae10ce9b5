import { cycloneDxDocument, summarizeContents, type ReadContents } from '../audit/cyclonedx';
import { contentsKey } from '../audit/layout';
import type { Logger } from '../log/logger';
import type { ObjectStore } from '../oss/store';
import type { PublishResult } from './result';

export interface ContentsDeps {
  store: ObjectStore;
  auditPrefix: string;
  retrying: <T>(step: string, operation: (attempt: number) => Promise<T>) => Promise<T>;
  log: Logger;
  now: () => Date;
}

/**
 * What is inside the version a decision names (published, or unchanged: the same bytes), from the read
 * that verified its zip: the summary in the result, and a CycloneDX document in the audit trail,
 * written once (create-if-absent, so a redelivery or an unchanged upload leaves the first one). A
 * document that cannot be written leaves the summary without its `sbom` key, never a failed publish.
 */
export async function recordContents(result: PublishResult, read: ReadContents | undefined, deps: ContentsDeps): Promise<PublishResult> {
  const { layerName, version } = result;
  if (read === undefined || layerName === undefined || version === undefined || (result.status !== 'published' && result.status !== 'unchanged')) {
    return result;
  }
  const summary = summarizeContents(read);
  const key = contentsKey(deps.auditPrefix, layerName, version);
  const document = cycloneDxDocument(read, {
    layerName,
    version,
    arn: result.arn,
    crc64: result.source.crc64,
    source: result.source,
    timestamp: deps.now().toISOString(),
  });
  try {
    const written = await deps.retrying('contents.write', () =>
      deps.store.put(key, `${JSON.stringify(document, null, 2)}\n`, { contentType: 'application/vnd.cyclonedx+json', forbidOverwrite: true }),
    );
    deps.log.info('contents.recorded', { key, written, files: summary.files, packages: document.components.length, skipped: summary.skipped });
    return { ...result, contents: { ...summary, sbom: key } };
  } catch (error) {
    deps.log.warn('contents.write.failed', { key, error });
    return { ...result, contents: summary };
  }
}
