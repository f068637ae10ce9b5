/**
 * Zip checks for a layer archive streamed once: is it a zip (ZipInvalid otherwise), and does its layout
 * fit the manifest's runtimes (ZipLayoutInvalid otherwise). Pure code: the caller does all I/O.
 */
export {
  DEFAULT_TAIL_BYTES,
  MIN_TAIL_BYTES,
  ZipInspector,
  readCentralDirectory,
  type CentralDirectoryRange,
  type ZipInspection,
  type ZipInspectorOptions,
} from './inspector';
export { checkLayout } from './check-layout';
export { type LayoutPlace, type LayoutSummary, type ZipContents } from './layout';
