import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { openSqliteStore } from '../../src/store/sqlite-store.ts';
import { ClusterView } from '../../src/cluster/view.ts';
import { createEventLog } from '../../src/cluster/scale-events.ts';
import { createNodeOps } from '../../src/cluster/node-ops.ts';
import { createActuator } from '../../src/autoscaler/actuator.ts';
import { createAutoscaler } from '../../src/autoscaler/run-once.ts';
import { startAutoscaler } from '../../src/autoscaler/loop.ts';
import type { ClusterNode, ScaleEvent, ScalePolicy } from '../../src/domain/types.ts';
import type { AutoscalerSettings } from '../../src/autoscaler/types.ts';
import { FakeCloud } from './fake-cloud.ts';
import { flatPolicy, LAUNCH_CONFIG, node, NOW, origin, SETTINGS, target } from './helpers.ts';

/**
 * runOnce with the real parts around it: ClusterView, NodeOps, EventLog and an in-memory SQLite store,
 * a FakeCloud on a ManualClock. What the planners decide is covered by their own tests; these check that
 * decisions are carried out once, recorded once and never block the tick.
 */
interface SetupOptions {
  nodes?: ClusterNode[];
  policy?: ScalePolicy;
  zones?: string[];
  pool?: Record<string, number>;
  delayMs?: number;
  hint?: boolean;
  settings?: Partial<AutoscalerSettings>;
}

async function setup(t: TestContext, o: SetupOptions = {}) {
  const clock = new ManualClock(NOW);
  const log = createLogger('silent');
  const config = loadConfig({ overrides: { 'server.logLevel': 'silent' } });
  const store = openSqliteStore(':memory:');
  t.after(() => store.close());
  const view = new ClusterView();
  const policy = o.policy ?? flatPolicy([target('origin', { maxLimit: 1 }), target('edge', { minLimit: 0 })]);
  const catalog = { scalePolicy: (n: string) => (n === policy.name ? policy : null), launchConfig: (n: string) => (n === 'lc' ? LAUNCH_CONFIG : null), threshold: () => 60 };
  const zones = o.zones ?? ['us-test1-a'];
  const cloud = new FakeCloud(clock, zones, new Map(Object.entries(o.pool ?? {})), o.delayMs ?? 0, o.hint ?? false);
  const events = createEventLog({ store, clock, log });
  const ops = createNodeOps({ config, clock, log, store, cloud, view, catalog, events });
  const g = await store.createGroup({ name: 'g1', regions: ['us-test1'], launchConfig: 'lc', scalePolicy: policy.name, state: 'active', baseCapacity: 0, timestamp: NOW });
  view.setGroup(g);
  for (const n of o.nodes ?? []) view.setNode(await store.saveNode(n));
  const settings = { ...SETTINGS, ...o.settings };
  const actuator = createActuator({ ops, events, cloud, clock, log });
  const as = createAutoscaler({ view, catalog, cloud, settings, actuator, log });
  const allEvents = async (): Promise<ScaleEvent[]> => (await store.listScaleEvents('g1', { limit: 1000, offset: 0 })).reverse();
  const kinds = async () => (await allEvents()).map((e) => e.kind);
  /** One tick at the clock's time. */
  const tick = () => as.runOnce(clock.now());
  return { clock, store, view, cloud, ops, ...as, tick, allEvents, kinds };
}

/** Origin and edges that keep reporting (their lastReport follows the clock). */
function fresh(env: { view: ClusterView; clock: ManualClock }) {
  for (const n of env.view.nodes.values()) if (n.state === 'inservice' || n.state === 'draining') env.view.setNode({ ...n, lastReport: env.clock.now() });
}

test('a surge launches exactly the nodes needed, once; a 20 s cloud delay does not block the tick', async (t) => {
  const env = await setup(t, { nodes: [origin('o'), node('a', { load: 100 }), node('b', { load: 100 })], delayMs: 20_000 });
  const r = await env.tick();
  assert.equal(r.error, undefined);
  const l = r.results.filter((x) => x.item.kind === 'launch');
  assert.equal(l.length, 1);
  assert.equal(l[0].started, 2, '200/200 → 2 more edges bring it to 50%');
  assert.equal(env.clock.now(), NOW, 'the tick returned without waiting for the cloud');
  assert.equal(env.view.launching.size, 2);
  assert.equal(env.actuator.inFlight().length, 2);
  for (let s = 1; s <= 25; s++) {
    await env.clock.advance(1000);
    fresh(env);
    const rr = await env.tick();
    assert.equal(rr.results.filter((x) => x.item.kind === 'launch').length, 0, `no second launch at +${s}s`);
  }
  assert.equal(env.cloud.launches.length, 2);
  const pending = [...env.view.nodes.values()].filter((n) => n.state === 'pending');
  assert.equal(pending.length, 2);
  assert.deepEqual((await env.kinds()).filter((k) => k === 'launch').length, 2);
  const ev = (await env.allEvents()).find((e) => e.kind === 'launch')!;
  assert.equal(ev.data.rule, 'scale-out');
  assert.equal(ev.data.threshold, 60);
  assert.equal(ev.data.loadPct, 100);
});

test('pool exhausted, with the pool hint: one refused event per back-off window, nothing launched', async (t) => {
  const env = await setup(t, { nodes: [origin('o')], policy: flatPolicy([target('origin', { maxLimit: 1 }), target('edge', { minLimit: 3 })]), pool: { 'us-test1-a': 1 }, hint: true });
  const r = await env.tick();
  const l = r.results.find((x) => x.item.kind === 'launch')!;
  assert.deepEqual(l.short, { wanted: 3, launched: 1, missing: 2 });
  for (let s = 1; s < 30; s++) {
    await env.clock.advance(1000);
    fresh(env);
    await env.tick();
  }
  let refused = (await env.allEvents()).filter((e) => e.kind === 'refused');
  assert.equal(refused.length, 1, 'one event for the whole window');
  assert.match(refused[0].reason, /wanted 3, launching 1, missing 2/);
  assert.deepEqual([refused[0].data.wanted, refused[0].data.launched, refused[0].data.missing], [3, 1, 2]);
  assert.equal(env.cloud.launches.length, 1);
  // Window over: the next tick tries again and explains again.
  await env.clock.advance(1000);
  fresh(env);
  await env.tick();
  refused = (await env.allEvents()).filter((e) => e.kind === 'refused');
  assert.equal(refused.length, 2);
  assert.match(refused[1].reason, /wanted 2, launching 0, missing 2/);
});

test('pool exhausted, without a hint: launches stop for the back-off window, one backoff event says what is missing', async (t) => {
  const env = await setup(t, { nodes: [origin('o')], policy: flatPolicy([target('origin', { maxLimit: 1 }), target('edge', { minLimit: 2 })]), pool: { 'us-test1-a': 0 } });
  await env.tick();
  assert.equal(env.cloud.launches.length, 2);
  for (let s = 1; s < 30; s++) {
    await env.clock.advance(1000);
    fresh(env);
    await env.tick();
  }
  assert.equal(env.cloud.launches.length, 2, 'no retry inside the window');
  const ev = await env.allEvents();
  const backoff = ev.filter((e) => e.kind === 'backoff');
  assert.equal(backoff.length, 1);
  assert.deepEqual([backoff[0].data.wanted, backoff[0].data.launched, backoff[0].data.missing], [2, 0, 2]);
  assert.equal(ev.filter((e) => e.kind === 'refused').length, 2, 'NodeOps records each refused launch');
  await env.clock.advance(1000);
  fresh(env);
  await env.tick();
  assert.equal(env.cloud.launches.length, 4, 'retried after the window');
});

test('zone back-off: three failures in a zone move launches to the other zone', async (t) => {
  const env = await setup(t, { nodes: [origin('o', { availabilityZone: 'us-test1-b' })], zones: ['us-test1-a', 'us-test1-b'], policy: flatPolicy([target('origin', { maxLimit: 1 }), target('edge', { minLimit: 1 })]) });
  env.cloud.failZone.set('us-test1-a', 'TIMEOUT');
  for (let i = 0; i < 4; i++) {
    await env.tick();
    await env.clock.advance(1000);
    fresh(env);
  }
  const zones = env.cloud.launches.map((l) => l.zone);
  assert.deepEqual(zones.slice(0, 3), ['us-test1-a', 'us-test1-a', 'us-test1-a']);
  assert.equal(zones[3], 'us-test1-b');
  const ev = await env.allEvents();
  const b = ev.filter((e) => e.kind === 'backoff');
  assert.equal(b.length, 1);
  assert.equal(b[0].data.zone, 'us-test1-a');
  assert.equal(ev.filter((e) => e.kind === 'launch-failed').length, 3);
  assert.equal(env.memory.zoneAvoidUntil.has('us-test1-a'), true);
});

test('scale-in end to end: drain the idle edge, terminate it once a report shows it empty', async (t) => {
  const env = await setup(t, { nodes: [origin('o'), node('a', { load: 1 }), node('b', { load: 0 })] });
  let r = await env.tick();
  assert.deepEqual(r.results.map((x) => [x.item.kind, x.ok]), [['drain', true]]);
  assert.equal(env.view.nodes.get('b')!.state, 'draining');
  r = await env.tick();
  assert.equal(r.results.length, 0, 'no report since the drain started');
  await env.clock.advance(1000);
  fresh(env);
  r = await env.tick();
  assert.deepEqual(r.results.map((x) => [x.item.kind, x.item.rule, x.ok]), [['terminate', 'drain-empty', true]]);
  assert.equal(env.view.nodes.has('b'), false);
  assert.equal(await env.store.getNode('b'), null);
  assert.deepEqual(env.cloud.terminated.map((x) => x.reason), ['scale-in']);
  assert.deepEqual((await env.kinds()), ['drain', 'terminate']);
});

test('dead node against the store: row kept as terminated when deleteDeadGroupNodesOnCleanUp=false', async (t) => {
  for (const del of [true, false]) {
    await t.test(`deleteDeadGroupNodesOnCleanUp=${del}`, async (t2) => {
      const env = await setup(t2, { nodes: [origin('o'), node('x', { lastReport: NOW - 31_000 })], settings: { deleteDeadGroupNodesOnCleanUp: del } });
      const r = await env.tick();
      assert.deepEqual(r.results.map((x) => [x.item.kind, x.ok]), [['terminate', true]]);
      const row = await env.store.getNode('x');
      if (del) assert.equal(row, null);
      else assert.equal(row?.state, 'terminated');
      assert.deepEqual(env.cloud.terminated.map((x) => x.reason), ['failed']);
      assert.deepEqual(await env.kinds(), ['dead']);
    });
  }
});

test('runOnce never throws: a broken dependency comes back as an error result', async (t) => {
  const env = await setup(t, { nodes: [origin('o')] });
  const broken = createAutoscaler({
    view: env.view,
    catalog: { scalePolicy: () => { throw new Error('catalog exploded'); }, launchConfig: () => null, threshold: () => 60 },
    cloud: env.cloud,
    settings: SETTINGS,
    actuator: env.actuator,
    log: createLogger('silent'),
  });
  const r = await broken.runOnce(NOW);
  assert.equal(r.error, 'catalog exploded');
  assert.equal(r.transient, false);
});

test('the loop keeps ticking every interval while a launch waits 20 s on the cloud', async (t) => {
  const env = await setup(t, { nodes: [origin('o'), node('a', { load: 90 })], delayMs: 20_000 });
  const loop = startAutoscaler({ clock: env.clock, intervalMs: 1000, lease: { acquire: async () => true, release: async () => {} }, runOnce: env.runOnce, log: createLogger('silent') });
  await env.clock.advance(0);
  assert.equal(env.view.launching.size, 1);
  for (let s = 1; s <= 10; s++) {
    fresh(env);
    await env.clock.advance(1000);
  }
  assert.equal(loop.status().runs, 11);
  assert.equal(env.view.launching.size, 1, 'still launching, counted, not relaunched');
  assert.equal(env.cloud.launches.length, 1);
  await loop.stop();
});

test('a surge cancels an empty scale-in drain instead of ending it in the same tick', async (t) => {
  const env = await setup(t, { nodes: [origin('o'), node('a', { load: 100 }), node('d', { state: 'draining', stateReason: 'scale-in: earlier', load: 0, drainStartedAt: NOW - 5000 })] });
  const r = await env.tick();
  assert.deepEqual(r.results.map((x) => [x.item.kind, x.ok]), [['cancelDrain', true]], '100/200 after the cancel: no launch, no termination');
  assert.equal(env.view.nodes.get('d')!.state, 'inservice');
});
