import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAutoscaler } from '../../src/autoscaler/loop.ts';
import type { RunResult } from '../../src/autoscaler/types.ts';
import { ManualClock, flush } from '../../src/lib/manual-clock.ts';
import { clockDelay } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';

const T0 = 1_700_000_000_000;
const log = createLogger('silent');
const result = (at: number, extra: Partial<RunResult> = {}): RunResult => ({ at, groups: 0, planned: 0, results: [], outcomes: [], ...extra });

function lease(held = true) {
  const l = { held, acquired: 0, released: 0, acquire: async () => (l.acquired++, l.held), release: async () => void l.released++ };
  return l;
}

test('loop: first tick at once, then one tick per interval with the clock time as now', async () => {
  const clock = new ManualClock(T0);
  const seen: number[] = [];
  const loop = startAutoscaler({ clock, intervalMs: 1000, lease: lease(), log, runOnce: async (now) => (seen.push(now), result(now)) });
  await clock.advance(0);
  assert.deepEqual(seen, [T0]);
  await clock.advance(3000);
  assert.deepEqual(seen, [T0, T0 + 1000, T0 + 2000, T0 + 3000]);
  const st = loop.status();
  assert.equal(st.runs, 4);
  assert.equal(st.lastRunAt, T0 + 3000);
  assert.equal(st.lastSuccessAt, T0 + 3000);
  assert.equal(st.leader, true);
  await loop.stop();
});

test('loop: a slow tick is never overlapped; the next one follows it', async () => {
  const clock = new ManualClock(T0);
  let running = 0;
  let maxRunning = 0;
  const starts: number[] = [];
  const loop = startAutoscaler({
    clock,
    intervalMs: 1000,
    lease: lease(),
    log,
    runOnce: async (now) => {
      starts.push(now - T0);
      maxRunning = Math.max(maxRunning, ++running);
      await clockDelay(clock, 2500);
      running--;
      return result(now);
    },
  });
  await clock.advance(10_000);
  assert.equal(maxRunning, 1);
  assert.deepEqual(starts, [0, 2500, 5000, 7500, 10_000]);
  assert.equal(loop.status().lastDurationMs, 2500);
  const stopped = loop.stop(); // the tick started at 10 000 is still running: stop waits for it
  await clock.advance(2500);
  await stopped;
});

test('loop: errors (thrown or reported) do not stop it; lastSuccessAt only moves on success', async () => {
  const clock = new ManualClock(T0);
  let n = 0;
  const loop = startAutoscaler({
    clock,
    intervalMs: 1000,
    lease: lease(),
    log,
    runOnce: async (now) => {
      n++;
      if (n === 1) throw new Error('boom');
      if (n === 2) return result(now, { error: 'store down', transient: true });
      return result(now);
    },
  });
  await clock.advance(0);
  let st = loop.status();
  assert.equal(st.lastError, 'boom');
  assert.equal(st.lastSuccessAt, null);
  await clock.advance(1000);
  st = loop.status();
  assert.equal(st.lastError, 'store down');
  assert.equal(st.lastErrorAt, T0 + 1000);
  assert.equal(st.lastSuccessAt, null);
  await clock.advance(1000);
  st = loop.status();
  assert.equal(st.lastSuccessAt, T0 + 2000);
  assert.equal(st.runs, 3);
  await loop.stop();
});

test('loop: no run without the lease; onLeadership once per acquisition, before the first run', async () => {
  const clock = new ManualClock(T0);
  const l = lease(false);
  const order: string[] = [];
  const loop = startAutoscaler({ clock, intervalMs: 1000, lease: l, log, onLeadership: async () => void order.push('lead'), runOnce: async (now) => (order.push('run'), result(now)) });
  await clock.advance(2000);
  assert.equal(l.acquired, 3, 'the lease is checked every tick');
  assert.deepEqual(order, []);
  assert.equal(loop.status().leader, false);
  assert.equal(loop.status().ticks, 3);
  l.held = true;
  await clock.advance(2000);
  assert.deepEqual(order, ['lead', 'run', 'run']);
  assert.equal(loop.status().leader, true);
  l.held = false; // another manager took over
  await clock.advance(1000);
  assert.equal(loop.status().leader, false);
  l.held = true;
  await clock.advance(1000);
  assert.deepEqual(order, ['lead', 'run', 'run', 'lead', 'run']);
  await loop.stop();
});

test('loop: a failed hand-over skips the run and is retried next tick', async () => {
  const clock = new ManualClock(T0);
  let calls = 0;
  let runs = 0;
  const loop = startAutoscaler({
    clock,
    intervalMs: 1000,
    lease: lease(),
    log,
    onLeadership: async () => {
      if (++calls === 1) throw new Error('store unreachable');
    },
    runOnce: async (now) => (runs++, result(now)),
  });
  await clock.advance(0);
  assert.equal(runs, 0);
  assert.equal(loop.status().lastError, 'store unreachable');
  await clock.advance(1000);
  assert.equal(calls, 2);
  assert.equal(runs, 1);
  await loop.stop();
});

test('loop: stop() waits for the running tick, then nothing more runs and the lease is released', async () => {
  const clock = new ManualClock(T0);
  const l = lease();
  let finished = 0;
  let runs = 0;
  const loop = startAutoscaler({
    clock,
    intervalMs: 1000,
    lease: l,
    log,
    runOnce: async (now) => {
      runs++;
      await clockDelay(clock, 5000);
      finished++;
      return result(now);
    },
  });
  await clock.advance(0);
  let stopped = false;
  const p = loop.stop().then(() => (stopped = true));
  await flush();
  assert.equal(stopped, false, 'a tick is still running');
  await clock.advance(5000);
  await p;
  assert.equal(finished, 1);
  assert.equal(l.released, 1);
  assert.equal(loop.status().leader, false);
  await clock.advance(10_000);
  assert.equal(runs, 1);
  assert.equal(clock.pendingTimers, 0);
});

test('loop: idle() waits for a tick in flight and resolves at once when none runs', async () => {
  const clock = new ManualClock(T0);
  let finished = 0;
  const loop = startAutoscaler({
    clock,
    intervalMs: 10_000,
    lease: lease(),
    log,
    runOnce: async (now) => {
      await clockDelay(clock, 2000);
      finished++;
      return result(now);
    },
  });
  await clock.advance(0); // the first tick starts and waits on the clock
  let idle = false;
  const waiting = loop.idle().then(() => (idle = true));
  await clock.advance(1000);
  assert.equal(idle, false, 'the tick is still running');
  await clock.advance(1000);
  await waiting;
  assert.equal(finished, 1);
  await loop.idle(); // nothing running: settles without moving the clock
  await loop.stop();
});

test('loop: a tick over its budget is abandoned, the lease given up, and no tick runs beside it', async () => {
  const clock = new ManualClock(T0);
  const l = Object.assign(lease(), { abandoned: 0, abandon: () => void l.abandoned++ });
  let release!: () => void;
  let runs = 0;
  const loop = startAutoscaler({
    clock,
    intervalMs: 1000,
    budgetMs: 2000,
    lease: l,
    log,
    runOnce: async (now) => {
      if (++runs === 1) await new Promise<void>((r) => (release = r)); // a query that never answers
      return result(now);
    },
  });
  await clock.advance(0);
  assert.equal(loop.status().leader, true);
  await clock.advance(2000);
  assert.equal(loop.status().leader, false, 'stepped down');
  assert.equal(l.abandoned, 1);
  assert.match(loop.status().lastError!, /budget of 2000 ms/);
  await clock.advance(5000);
  assert.equal(runs, 1, 'nothing runs while the abandoned tick may still act');
  release();
  await clock.advance(5000);
  assert.ok(runs > 1, 'the loop goes on once it has settled');
  assert.equal(loop.status().leader, true);
  await loop.stop();
});

test('loop: a tick that finds the store down gives the lease up and leaves it to others for two ticks', async () => {
  const clock = new ManualClock(T0);
  const l = Object.assign(lease(), { abandoned: 0, abandon: () => void l.abandoned++ });
  let n = 0;
  const loop = startAutoscaler({
    clock,
    intervalMs: 1000,
    lease: l,
    log,
    runOnce: async (now) => (++n === 1 ? result(now, { error: 'store down', transient: true, storeDown: true }) : result(now)),
  });
  await clock.advance(0);
  assert.equal(loop.status().leader, false);
  assert.equal(l.abandoned, 1);
  const acquired = l.acquired;
  await clock.advance(2000);
  assert.equal(l.acquired, acquired, 'two ticks without trying the lease');
  assert.equal(acquired, 1);
  await clock.advance(1000);
  assert.equal(loop.status().leader, true);
  await loop.stop();
});
