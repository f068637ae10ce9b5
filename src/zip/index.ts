/**
 * Zip checks for a layer archive read once: is it a zip that every extractor reads one way, whose every
 * entry unpacks to what it claims (ZipInvalid otherwise), and do its names and layout fit the manifest's
 * runtimes (ZipLayoutInvalid otherwise). Pure code: the caller's ByteSource does all I/O.
 */
export {
  DEFAULT_TAIL_BYTES,
  MIN_RANGE_BYTES,
  planRanges,
  readArchive,
  type ArchiveRead,
  type ArchiveReadOptions,
  type ByteRange,
  type ByteSource,
  type OnChunk,
} from './read-archive';
export { MIN_TAIL_BYTES } from './end-record';
export { checkLayout } from './check-layout';
export type { LayoutPlace, LayoutSummary, ZipContents } from './layout';
export { MAX_JAR_BYTES, MAX_PACKAGE_FILE_BYTES, type Ecosystem, type FoundPackage, type FoundPackages } from './contents';
