import { layerOfArn } from '../fc/layer-api';

/** "A function can be configured with a maximum of five layers" (FC 2.0 and 3.0 alike). */
export const MAX_LAYERS_PER_FUNCTION = 5;

/** Whether `arn` is a version of `layerName`, in either of FC's ARN forms. */
export function isLayer(arn: string, layerName: string): boolean {
  return layerOfArn(arn)?.layerName === layerName;
}

/**
 * `layers` with this layer's ARN, whatever its version, replaced by `arn` in place: the order and
 * every other layer kept. A second entry of the same layer is dropped (FC mounts one). Undefined
 * when the function does not use the layer.
 */
export function replaceLayer(layers: readonly string[], layerName: string, arn: string): string[] | undefined {
  const first = layers.findIndex((entry) => isLayer(entry, layerName));
  if (first === -1) return undefined;
  return layers.flatMap((entry, index) => (index === first ? [arn] : isLayer(entry, layerName) ? [] : [entry]));
}

export function sameLayers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((arn, index) => arn === b[index]);
}
