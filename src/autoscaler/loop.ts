import type { Clock, TimerHandle } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Lease } from '../store/cluster-store.ts';
import type { RunResult } from './types.ts';
import type { TickContext } from './run-once.ts';

export interface AutoscalerLoopOptions {
  clock: Clock;
  /** Time between tick starts (autoscaler.tickInterval). */
  intervalMs: number;
  lease: Pick<Lease, 'acquire' | 'release'> & Partial<Pick<Lease, 'abandon'>>;
  /**
   * A tick (lease check, hand-over and run) still running after this many ms is abandoned: the loop stops
   * waiting for it and, when leading, gives up the lease at once so another manager takes over (design §6).
   * No new tick starts until the abandoned one has settled. Undefined: no budget.
   */
  budgetMs?: number;
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
/** After giving the lease up, this many ticks pass before this manager tries it again. */
const STAND_OFF_TICKS = 2;

export function startAutoscaler(o: AutoscalerLoopOptions): AutoscalerLoop {
  const log = o.log.child({ component: 'autoscaler-loop' });
  const st: AutoscalerStatus = { leader: false, leaderSince: null, lastRunAt: null, lastSuccessAt: null, lastDurationMs: null, lastError: null, lastErrorAt: null, ticks: 0, runs: 0, lastResult: null };
  let timer: TimerHandle | undefined;
  let current: Promise<void> | null = null;
  let stopped = false;
  /** A tick given up on that has not settled yet. */
  let abandoned: Promise<void> | null = null;
  /** Bumped when a tick is abandoned: the abandoned tick then changes no status when it wakes up. */
  let epoch = 0;
  /** Ticks left without trying the lease after giving it up, so a manager that can reach the store takes it. */
  let standOff = 0;

  /** Gives the lease up at once (the store stopped answering): holding it while unable to act blocks every other manager. */
  function stepDown(why: string) {
    st.leader = false;
    st.leaderSince = null;
    standOff = STAND_OFF_TICKS;
    o.lease.abandon?.();
    log.warn({ why }, 'autoscaler lease given up: this manager cannot reach the store');
  }

  const fail = (at: number, err: unknown, msg: string) => {
    st.lastError = err instanceof Error ? err.message : String(err);
    st.lastErrorAt = at;
    log.error({ err: st.lastError }, msg);
  };

  async function tick(): Promise<void> {
    const start = o.clock.now();
    const mine = epoch;
    if (standOff > 0) {
      standOff--;
      return;
    }
    let held = false;
    try {
      held = await o.lease.acquire();
    } catch (err) {
      fail(start, err, 'autoscaler lease check failed');
    }
    if (stopped || mine !== epoch) return;
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
        if (mine === epoch && o.lease.abandon) stepDown('hand-over failed');
        return;
      }
      if (mine !== epoch) return;
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
        if (r.storeDown && mine === epoch && o.lease.abandon) stepDown('store unavailable');
      } else st.lastSuccessAt = start;
    } catch (err) {
      fail(start, err, 'autoscaler tick threw');
    } finally {
      st.lastDurationMs = o.clock.now() - start;
    }
  }

  /** Resolves when the tick settles or its budget runs out, whichever comes first. */
  function withinBudget(run: Promise<void>, start: number): Promise<void> {
    if (o.budgetMs === undefined) return run;
    const budget = o.budgetMs;
    let budgetTimer: TimerHandle | undefined;
    const over = new Promise<'over'>((resolve) => (budgetTimer = o.clock.setTimeout(() => resolve('over'), budget)));
    return Promise.race([run.then(() => 'done' as const), over]).then((r) => {
      o.clock.clearTimeout(budgetTimer);
      if (r === 'done') return;
      epoch++;
      abandoned = run.finally(() => (abandoned = null));
      fail(start, new Error(`autoscaler tick exceeded its budget of ${budget} ms (the store or the cloud stopped answering); abandoned`), 'autoscaler tick abandoned');
      if (st.leader) stepDown('tick over budget');
    });
  }

  function schedule(delay: number) {
    if (stopped) return;
    timer = o.clock.setTimeout(() => {
      timer = undefined;
      const start = o.clock.now();
      // The abandoned tick may still wake up and act: never run a second one beside it.
      const run = abandoned ? Promise.resolve() : withinBudget(tick(), start);
      current = run
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
