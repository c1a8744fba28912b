import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActuator, type ActuatorDeps } from '../../src/autoscaler/actuator.ts';
import { keyOf } from '../../src/autoscaler/estimator.ts';
import type { LaunchItem, PlanItem } from '../../src/autoscaler/types.ts';
import { ClusterView } from '../../src/cluster/view.ts';
import { CloudError } from '../../src/cloud/cloud-controller.ts';
import type { EventInput } from '../../src/cluster/scale-events.ts';
import { clockDelay } from '../../src/lib/clock.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import type { ClusterNode } from '../../src/domain/types.ts';
import { node, NOW } from './helpers.ts';

const KEY = keyOf('g1', 'us-test1', 'edge');

/** NodeOps stand-in: registers launches in view.launching synchronously, like the real one, then waits `delay`. */
function fakeOps(view: ClusterView, clock: ManualClock, o: { delay?: number; failWith?: (zone: string) => Error | null; terminateFails?: string[] } = {}) {
  const calls: string[] = [];
  let n = 0;
  const ops: ActuatorDeps['ops'] = {
    launch(group, role, opts) {
      const zone = ['us-test1-a', 'us-test1-b'].find((z) => !opts.avoidZones?.has(z)) ?? 'none';
      const identifier = `i-${++n}`;
      const entry = { identifier, group, role, zone, since: clock.now() };
      view.launching.set(identifier, entry);
      opts.onStart?.(entry);
      calls.push(`launch:${role}:${zone}:${opts.kind}`);
      return (async () => {
        await clockDelay(clock, o.delay ?? 0);
        view.launching.delete(identifier);
        const err = o.failWith?.(zone);
        if (err) throw err;
        return node(`10.0.0.${n}`, { identifier, availabilityZone: zone, state: 'pending' }) as ClusterNode;
      })();
    },
    async drain(address) {
      calls.push(`drain:${address}`);
      return true;
    },
    async cancelDrain(address) {
      calls.push(`cancel:${address}`);
      return true;
    },
    async terminate(address) {
      calls.push(`terminate:${address}`);
      if (o.terminateFails?.includes(address)) throw new Error('store down');
      return true;
    },
  };
  return { ops, calls };
}

function launchItem(over: Partial<LaunchItem> = {}): LaunchItem {
  return { kind: 'launch', group: 'g1', role: 'edge', region: 'us-test1', key: KEY, rule: 'scale-out', reason: 'r', data: {}, count: 2, eventKind: 'launch', avoidZones: [], zones: ['us-test1-a', 'us-test1-b'], instanceType: 'standard', ...over };
}

function setup(o: Parameters<typeof fakeOps>[2] & { free?: Record<string, number> } = {}) {
  const clock = new ManualClock(NOW);
  const view = new ClusterView();
  const { ops, calls } = fakeOps(view, clock, o);
  const events: EventInput[] = [];
  const cloud = o.free ? { available: async (z: string) => o.free![z] ?? 0 } : undefined;
  const actuator = createActuator({ ops, events: { record: async (e) => void events.push(e) }, cloud, clock, log: createLogger('silent') });
  return { clock, view, calls, events, actuator };
}

test('actuator: launches are started, not awaited; tracked in flight; outcomes collected later', async () => {
  const a = setup({ delay: 20_000 });
  const res = await a.actuator.execute([launchItem()]);
  assert.deepEqual(res.map((r) => [r.ok, r.started]), [[true, 2]]);
  assert.equal(a.view.launching.size, 2);
  const flights = a.actuator.inFlight();
  assert.deepEqual(flights.map((f) => f.identifier).sort(), ['i-1', 'i-2']);
  assert.equal(flights[0].region, 'us-test1');
  assert.deepEqual(a.actuator.takeSettled(), []);
  await a.clock.advance(20_000);
  await a.actuator.idle();
  const out = a.actuator.takeSettled();
  assert.deepEqual(out.map((o) => o.type), ['launched', 'launched', 'batch']);
  const batch = out[2];
  assert.ok(batch.type === 'batch' && batch.wanted === 2 && batch.launched === 2);
  assert.equal(a.actuator.inFlight().length, 0);
  assert.deepEqual(a.actuator.takeSettled(), [], 'drained');
});

test('actuator: order inside a tick (event, terminate, cancel, drain, launch) and per-item failures', async () => {
  const a = setup({ terminateFails: ['x'] });
  const items: PlanItem[] = [
    launchItem({ count: 1 }),
    { kind: 'drain', group: 'g1', role: 'edge', key: KEY, address: 'd', rule: 'scale-in', reason: 'r', data: {} },
    { kind: 'cancelDrain', group: 'g1', role: 'edge', key: KEY, address: 'c', rule: 'scale-out', reason: 'r', data: {} },
    { kind: 'terminate', group: 'g1', role: 'edge', address: 'x', rule: 'dead', reason: 'r', data: {}, cloudReason: 'failed', eventKind: 'dead', keepRow: false },
    { kind: 'terminate', group: 'g1', role: 'edge', address: 'y', rule: 'dead', reason: 'r', data: {}, cloudReason: 'failed', eventKind: 'dead', keepRow: false },
    { kind: 'event', group: 'g1', role: 'origin', node: null, eventKind: 'terminate', rule: 'cluster-shutdown', reason: 'why', data: { n: 1 } },
  ];
  const res = await a.actuator.execute(items);
  assert.deepEqual(a.calls, ['terminate:x', 'terminate:y', 'cancel:c', 'drain:d', 'launch:edge:us-test1-a:launch']);
  assert.equal(a.events.length, 1);
  assert.equal(a.events[0].data?.rule, 'cluster-shutdown');
  const x = res.find((r) => r.item.kind === 'terminate' && r.item.address === 'x')!;
  assert.equal(x.ok, false);
  assert.equal(x.error, 'store down');
  assert.equal(res.filter((r) => r.ok).length, 5);
});

test('actuator: pool hint → launch only what the pool has, one refused event, zones without hosts avoided', async () => {
  const a = setup({ free: { 'us-test1-a': 0, 'us-test1-b': 1 } });
  const [r] = await a.actuator.execute([launchItem({ count: 3 })]);
  assert.deepEqual(r.short, { wanted: 3, launched: 1, missing: 2 });
  assert.equal(r.started, 1);
  assert.deepEqual(a.calls, ['launch:edge:us-test1-b:launch']);
  assert.equal(a.events.length, 1);
  assert.equal(a.events[0].kind, 'refused');
  assert.deepEqual([a.events[0].data?.wanted, a.events[0].data?.launched, a.events[0].data?.missing], [3, 1, 2]);
  await a.actuator.idle();
  const batch = a.actuator.takeSettled().find((o) => o.type === 'batch');
  assert.ok(batch && batch.type === 'batch' && batch.shortReported);

  const empty = setup({ free: { 'us-test1-a': 0, 'us-test1-b': 0 } });
  const [r2] = await empty.actuator.execute([launchItem({ count: 2 })]);
  assert.equal(r2.ok, false);
  assert.equal(r2.code, 'POOL_EXHAUSTED');
  assert.deepEqual(empty.calls, []);
});

test('actuator: failures carry the zone only for cloud errors', async () => {
  const a = setup({ failWith: (z) => (z === 'us-test1-a' ? new CloudError('TIMEOUT', 'slow', true, { zone: z }) : new Error('group gone')) });
  await a.actuator.execute([launchItem({ count: 1 }), launchItem({ count: 1, avoidZones: ['us-test1-a'] })]);
  await a.actuator.idle();
  const failed = a.actuator.takeSettled().filter((o) => o.type === 'failed');
  assert.deepEqual(failed.map((f) => f.type === 'failed' && [f.zone, f.code]), [['us-test1-a', 'TIMEOUT'], [null, null]]);
});
