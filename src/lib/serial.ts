/** Runs the functions given to it one at a time, in call order. */
export type Serial = <R>(fn: () => Promise<R>) => Promise<R>;

/**
 * A promise queue: each call starts once the previous one has settled (fulfilled or rejected). A
 * failure is returned to its own caller only; the queue goes on with the next function.
 */
export function createSerial(): Serial {
  let queue: Promise<unknown> = Promise.resolve();
  return <R>(fn: () => Promise<R>): Promise<R> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
}
