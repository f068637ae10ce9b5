import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's old generation growing to four times what a full collection left before it starts the next
 * (`--heap-growing-percent=300`), the factor V8 itself picks until it has timed its own marking. Set by
 * the first zip read of a process (zip/read-archive.ts), so that an event that reads no zip does not
 * load node:v8 (3-5 ms of a cold start, on a 2-core machine).
 *
 * Why: checking a zip allocates buffers by the zip's size (the socket's chunks, the inflaters' input
 * batches), and a compressible one allocated five times that until the inflaters' output buffers were
 * kept (zip/inflate-stream.ts). V8 (Node 20) counts buffer bytes allocated since its
 * last full collection against the old generation's headroom, and frees spent buffers in a scavenge
 * only once 32 MiB of them are young. Once V8 has timed a marking, it sets the factor from how fast it
 * marks this small heap (12-20 MB): 1.3, some 8 MB of headroom. From then on nearly every scavenge for
 * buffers began a full collection, about 60 per read of a 256 MiB zip; with the output buffers kept,
 * still 24 in one of four reads without the factor, against 1 with it. docs/contents.md has the figures.
 */
export function tuneHeapForInflating(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

let tuned = false;

/** 300 % more: four times. 200 % (three times) still left 35-38 full collections per read. */
const HEAP_GROWING_PERCENT = 300;
