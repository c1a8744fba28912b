/**
 * Time is injected everywhere so that tests drive it with a ManualClock instead of sleeping.
 * Only this file and manual-clock.ts may touch Date.now / setTimeout for scheduling purposes.
 */
export interface TimerHandle { readonly id: number }

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

let nextId = 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    const handle = { id: nextId++, t };
    return handle;
  },
  clearTimeout(handle) {
    if (handle) clearTimeout((handle as unknown as { t: NodeJS.Timeout }).t);
  },
};

/** Resolves after `ms` of the given clock's time (a ManualClock resolves it on advance()). */
export function clockDelay(clock: Clock, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
