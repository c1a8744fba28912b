import type { Clock, TimerHandle } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Lease } from '../store/cluster-store.ts';
import type { RunResult } from './types.ts';
import type { TickContext } from './run-once.ts';

export interface AutoscalerLoopOptions {
  clock: Clock;
  /** Time between tick starts (autoscaler.tickInterval). */
  intervalMs: number;
  lease: Pick<Lease, 'acquire' | 'release'>;
  /** `ctx.observedSince`: start of the tick that won the lease (restart and leadership grace). */
  runOnce: (now: number, ctx: TickContext) => Promise<RunResult>;
  log: Logger;
  /** Called once each time this instance becomes the leader, before its first tick (reload the view from the store). */
  onLeadership?: () => void | Promise<void>;
}

export interface AutoscalerStatus {
  leader: boolean;
  /** Start of the tick that won the lease (null while not leader): every node's clock restarts here. */
  leaderSince: number | null;
  /** Start of the last tick that ran runOnce (epoch ms). */
  lastRunAt: number | null;
  /** Start of the last tick whose runOnce finished without error: a stuck or failing loop shows here. */
  lastSuccessAt: number | null;
  lastDurationMs: number | null;
  /** Last error seen (kept after later successes; compare lastErrorAt with lastSuccessAt). */
  lastError: string | null;
  lastErrorAt: number | null;
  /** Loop iterations, leader or not. */
  ticks: number;
  /** runOnce calls. */
  runs: number;
  lastResult: RunResult | null;
}

export interface AutoscalerLoop {
  /** Stops scheduling, waits for a running tick, then gives the lease back so another instance takes over at once. */
  stop(): Promise<void>;
  status(): AutoscalerStatus;
  /** Resolves when no tick is running (one that started is awaited, lease check included). */
  idle(): Promise<void>;
}

/**
 * The only autoscaler code that touches timers. Ticks are chained with clock.setTimeout — the next one is
 * scheduled when the current one has finished — so ticks never overlap; a tick slower than the interval is
 * followed by the next one at once. Each tick re-checks the lease first (several managers may share one
 * database; design §6) and runs only while held. Nothing here throws: errors are logged and kept in status().
 */
export function startAutoscaler(o: AutoscalerLoopOptions): AutoscalerLoop {
  const log = o.log.child({ component: 'autoscaler-loop' });
  const st: AutoscalerStatus = { leader: false, leaderSince: null, lastRunAt: null, lastSuccessAt: null, lastDurationMs: null, lastError: null, lastErrorAt: null, ticks: 0, runs: 0, lastResult: null };
  let timer: TimerHandle | undefined;
  let current: Promise<void> | null = null;
  let stopped = false;

  const fail = (at: number, err: unknown, msg: string) => {
    st.lastError = err instanceof Error ? err.message : String(err);
    st.lastErrorAt = at;
    log.error({ err: st.lastError }, msg);
  };

  async function tick(): Promise<void> {
    const start = o.clock.now();
    let held = false;
    try {
      held = await o.lease.acquire();
    } catch (err) {
      fail(start, err, 'autoscaler lease check failed');
    }
    if (stopped) return;
    if (!held) {
      if (st.leader) log.warn('autoscaler lease lost: another manager runs the autoscaler');
      st.leader = false;
      st.leaderSince = null;
      return;
    }
    if (!st.leader) {
      try {
        await o.onLeadership?.();
      } catch (err) {
        // Acting on a stale view is worse than waiting a tick: retry the hand-over next time.
        fail(start, err, 'autoscaler leadership hand-over failed');
        return;
      }
      st.leader = true;
      st.leaderSince = start;
      // No node is judged on evidence older than this moment (design §6).
      log.info({ observedSince: start }, 'autoscaler lease acquired: this manager runs the autoscaler; restart grace: every node gets its full tolerance from now');
    }
    st.runs++;
    st.lastRunAt = start;
    try {
      const r = await o.runOnce(start, { observedSince: st.leaderSince ?? start });
      st.lastResult = r;
      if (r.error) {
        st.lastError = r.error;
        st.lastErrorAt = start;
        if (r.transient) log.warn({ err: r.error }, 'autoscaler tick skipped (transient)');
        else log.error({ err: r.error }, 'autoscaler tick failed');
      } else st.lastSuccessAt = start;
    } catch (err) {
      fail(start, err, 'autoscaler tick threw');
    } finally {
      st.lastDurationMs = o.clock.now() - start;
    }
  }

  function schedule(delay: number) {
    if (stopped) return;
    timer = o.clock.setTimeout(() => {
      timer = undefined;
      const start = o.clock.now();
      current = tick()
        .catch((err) => fail(start, err, 'autoscaler tick threw'))
        .finally(() => {
          st.ticks++;
          current = null;
          schedule(Math.max(0, o.intervalMs - (o.clock.now() - start)));
        });
    }, delay);
  }

  schedule(0);

  return {
    async stop() {
      stopped = true;
      o.clock.clearTimeout(timer);
      timer = undefined;
      if (current) await current;
      if (st.leader) {
        st.leader = false;
        st.leaderSince = null;
        await o.lease.release().catch((err) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'autoscaler lease release failed'));
      }
    },
    status: () => ({ ...st }),
    async idle() {
      while (current) await current;
    },
  };
}
