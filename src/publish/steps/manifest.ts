import { parseManifest, type Manifest } from '../../manifest/manifest';
import type { ObjectHead } from '../../oss/store';
import { checkAllowed, checkZipSize } from '../checks';
import type { Flow } from './context';

/** Step 2: the manifest parsed, its layer named in the result from here on. */
export function validateManifest(flow: Flow, body: Buffer): Manifest {
  const manifest = parseManifest(body, flow.input.keys.manifest, flow.deps.fcApiVersion);
  const { state } = flow;
  state.layerName = manifest.layerName;
  // Only FC 3.0 keeps a licence with the version; the result records it under every API (docs/contract.md §4).
  if (manifest.license !== undefined && state.manifestInfo) state.manifestInfo = { ...state.manifestInfo, license: manifest.license };
  return manifest;
}

/** Step 2 and 3's checks on a complete pair: the manifest, the layer allowed here, the zip's size. */
export function acceptManifest(flow: Flow, body: Buffer, zip: ObjectHead): Manifest {
  const manifest = validateManifest(flow, body);
  checkAllowed(manifest.layerName, flow.input.keys.zip, flow.deps.allowedLayers);
  checkZipSize(zip.size, flow.input.keys.zip, flow.deps.maxZipBytes);
  return manifest;
}
