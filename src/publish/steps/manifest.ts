import { parseManifest, type Manifest } from '../../manifest/manifest';
import type { ObjectHead } from '../../oss/store';
import { checkAllowed, checkZipSize } from '../checks';
import type { Flow, RecordFacts } from './context';

/** Step 2: the manifest parsed. */
export function validateManifest(flow: Flow, body: Buffer): Manifest {
  return parseManifest(body, flow.input.keys.manifest, flow.deps.fcApiVersion);
}

/** What a valid manifest tells every result from here on: the layer's name, and its licence. */
export function factsOf(flow: Flow, manifest: Manifest): Partial<RecordFacts> {
  const { manifestInfo } = flow.facts;
  // Only FC 3.0 keeps a licence with the version; the result records it under every API (docs/contract.md §4).
  const licensed = manifest.license !== undefined && manifestInfo !== undefined ? { manifestInfo: { ...manifestInfo, license: manifest.license } } : {};
  return { layerName: manifest.layerName, ...licensed };
}

/** Step 2 and 3's checks on a valid manifest of a complete pair: the layer allowed here, the zip's size. */
export function acceptManifest(flow: Flow, manifest: Manifest, zip: ObjectHead): void {
  checkAllowed(manifest.layerName, flow.input.keys.zip, flow.deps.allowedLayers);
  checkZipSize(zip.size, flow.input.keys.zip, flow.deps.maxZipBytes);
}
