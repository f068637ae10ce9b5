/**
 * A writer for stdout or stderr that stops quietly once its reader has gone (`... | head`): the
 * write fails with EPIPE, and without a listener Node would die with that error's stack. The command
 * still runs to its end, so an upload under way is not cut off, and exits with its own code.
 */
export function pipeWriter(stream: NodeJS.WritableStream): (text: string) => void {
  let readerGone = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    readerGone = true;
  });
  return (text) => {
    if (!readerGone) stream.write(text);
  };
}
