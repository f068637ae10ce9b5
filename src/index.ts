import { handleOssEvent } from './handler';
import type { FcContext } from './invocation';
import type { Summary } from './publish/result';

/** Function Compute entry (`handler: index.handler`, runtime nodejs20): the event is a Buffer of JSON. */
export async function handler(event: unknown, context: FcContext): Promise<Summary> {
  return handleOssEvent(event, context);
}
