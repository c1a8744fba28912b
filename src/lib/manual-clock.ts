import type { Clock, TimerHandle } from './clock.ts';

interface Pending { id: number; at: number; fn: () => void }

/**
 * A clock that only moves when told to. advance(ms) fires due timers in time order and lets
 * promise callbacks run between them, so code awaiting clockDelay() progresses deterministically.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: Pending[] = [];
  private seq = 1;

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.seq++;
    this.timers.push({ id, at: this.current + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  /** Number of timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing every timer due on the way (including ones scheduled meanwhile). */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flush();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.at);
      next.fn();
      await flush();
    }
    this.current = target;
    await flush();
  }

  /** Sets the time without firing timers (for pure tests). */
  set(time: number): void {
    this.current = time;
  }
}

/** Lets pending promise callbacks and immediate I/O callbacks run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
