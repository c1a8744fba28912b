import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemory } from '../../src/autoscaler/memory.ts';
import { keyOf, SCALE_IN_REASON } from '../../src/autoscaler/estimator.ts';
import { flatPolicy, group, NOW, node, ofKind, origin, plan, regionPolicy, target, world, type WorldOptions } from './helpers.ts';

const EDGE = keyOf('g1', 'us-test1', 'edge');
const ORIGIN = keyOf('g1', 'us-test1', 'origin');
const withOrigin = (...edges: ReturnType<typeof node>[]) => [origin('10.0.0.1'), ...edges];
const policy = (edge: Parameters<typeof target>[1] = {}, originT: Parameters<typeof target>[1] = { maxLimit: 1 }) => [flatPolicy([target('origin', originT), target('edge', edge)])];
const drains = (o: WorldOptions, memory = createMemory(), now = NOW) => ofKind(plan(world(o), memory, now).in, 'drain');

test('scale-in: half-threshold rule on the load without the least-loaded node', async (t) => {
  const cases: { name: string; loads: number[]; expect: string | null }[] = [
    { name: '25/200 = 12.5% < 30%: drain the least loaded', loads: [10, 10, 5], expect: 'e2' },
    { name: '60/200 = 30% is not under half of 60', loads: [20, 20, 20], expect: null },
    { name: '58/200 = 29% < 30%', loads: [20, 20, 18], expect: 'e2' },
    { name: 'idle group', loads: [0, 0, 0], expect: 'e2' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      // Equal loads: the newest node goes (e2 launched last).
      const edges = c.loads.map((l, i) => node(`e${i}`, { load: l, launchTime: NOW - 600_000 + i * 1000 }));
      const d = drains({ nodes: withOrigin(...edges) });
      assert.deepEqual(d.map((x) => x.address), c.expect ? [c.expect] : []);
      if (c.expect) {
        assert.equal(d[0].rule, 'scale-in');
        assert.ok(d[0].reason.startsWith(SCALE_IN_REASON), 'reason marks the drain as cancellable scale-in');
        assert.equal(d[0].data.halfThreshold, 30);
        assert.equal(typeof d[0].data.loadWithoutPct, 'number');
      }
    });
  }
});

test('scale-in: least-loaded node is chosen, ties go to the newest, handed-out clients count', () => {
  const w = world({ nodes: withOrigin(node('a', { load: 3 }), node('b', { load: 1, launchTime: NOW - 500_000 }), node('c', { load: 1, launchTime: NOW - 400_000 })) });
  assert.deepEqual(ofKind(plan(w).in, 'drain').map((d) => d.address), ['c']);
  w.view.noteHandedOut('c', 5);
  assert.deepEqual(ofKind(plan(w).in, 'drain').map((d) => d.address), ['b']);
});

test('scale-in: one node at a time per group/role/region', () => {
  assert.equal(drains({ nodes: withOrigin(node('a'), node('b'), node('c'), node('d')) }).length, 1, 'many idle nodes, one drain');
  assert.equal(drains({ nodes: withOrigin(node('a'), node('b'), node('c'), node('d', { state: 'draining', stateReason: 'scale-in: earlier' })) }).length, 0, 'one already draining for scale-in');
  // A sunset drain is not a scale-in: scale-in may continue.
  assert.equal(drains({ nodes: withOrigin(node('a'), node('b'), node('c'), node('d', { state: 'draining', stateReason: 'sunset by the administrator' })) }).length, 1);
});

test('scale-in: never while nodes of the role are launching', () => {
  assert.equal(drains({ nodes: withOrigin(node('a'), node('b'), node('p', { state: 'pending', lastReport: null, launchTime: NOW - 5000 })) }).length, 0);
  assert.equal(drains({ nodes: withOrigin(node('a'), node('b')), launching: [{ identifier: 'i', group: 'g1', role: 'edge', zone: 'us-test1-a', since: NOW }] }).length, 0);
});

test('scale-in: minLimit floor', () => {
  assert.equal(drains({ nodes: withOrigin(node('a'), node('b')), policies: policy({ minLimit: 2 }) }).length, 0);
  assert.equal(drains({ nodes: withOrigin(node('a'), node('b'), node('c')), policies: policy({ minLimit: 2 }) }).length, 1);
  // A dead node does not count towards the floor either.
  assert.equal(drains({ nodes: withOrigin(node('a'), node('b'), node('x', { lastReport: NOW - 31_000 })), policies: policy({ minLimit: 2 }) }).length, 0);
});

test('scale-in: baseCapacity floor on subscriber capacity', async (t) => {
  const cases = [
    { name: '300 - 100 = 200 < 250', base: 250, expect: 0 },
    { name: '300 - 100 = 200 ≥ 200', base: 200, expect: 1 },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.equal(drains({ groups: [group({ baseCapacity: c.base })], nodes: withOrigin(node('a'), node('b'), node('c')) }).length, c.expect);
    });
  }
  await t.test('group without edges: origins carry the floor', () => {
    const o = { groups: [group({ baseCapacity: 150 })], policies: [flatPolicy([target('origin', { maxLimit: 3 })])], nodes: [origin('o1'), origin('o2')] };
    assert.equal(drains(o).length, 0);
    assert.equal(drains({ ...o, groups: [group({ baseCapacity: 100 })] }).length, 1);
  });
});

test('scale-in: baseCapacity floor counts drains planned in the same tick across regions', () => {
  // 4 edges of 100 over 2 regions, baseCapacity 300: each region alone could drain one (400 - 100 ≥ 300),
  // but together they would leave 200. Only one drain.
  const eu = { region: 'eu-test1', availabilityZone: 'eu-test1-a' };
  const d = drains({
    groups: [group({ regions: ['us-test1', 'eu-test1'], baseCapacity: 300 })],
    policies: [regionPolicy({ default: [target('origin', { maxLimit: 1 }), target('edge')] })],
    nodes: [origin('o1'), node('us1'), node('us2'), node('eu1', eu), node('eu2', eu)],
  });
  assert.equal(d.length, 1);
  assert.equal(d[0].data.subscriberCapacityAfter, 300);
  // Room for two: both regions drain one, the second sees the first.
  const d2 = drains({
    groups: [group({ regions: ['us-test1', 'eu-test1'], baseCapacity: 200 })],
    policies: [regionPolicy({ default: [target('origin', { maxLimit: 1 }), target('edge')] })],
    nodes: [origin('o1'), node('us1'), node('us2'), node('eu1', eu), node('eu2', eu)],
  });
  assert.deepEqual(d2.map((x) => x.data.subscriberCapacityAfter), [300, 200]);
});

test('scale-in: cool-down since the last scale-out or scale-in', async (t) => {
  const cases = [
    { name: 'recent scale-out', set: (m: ReturnType<typeof createMemory>) => m.lastScaleOut.set(EDGE, NOW - 60_000), expect: 0 },
    { name: 'recent scale-in', set: (m: ReturnType<typeof createMemory>) => m.lastScaleIn.set(EDGE, NOW - 60_000), expect: 0 },
    { name: 'both long ago', set: (m: ReturnType<typeof createMemory>) => (m.lastScaleIn.set(EDGE, NOW - 180_000), m.lastScaleOut.set(EDGE, NOW - 200_000)), expect: 1 },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const m = createMemory();
      c.set(m);
      assert.equal(drains({ nodes: withOrigin(node('a'), node('b')), policies: policy({ coolDownPeriod: 180_000 }) }, m).length, c.expect);
    });
  }
});

test('scale-in: scaleInWaitTime of continuous low load', () => {
  const settings = { nodeStateToleranceTime: 3_600_000 };
  const low = { nodes: withOrigin(node('a'), node('b')), settings, policies: policy({ scaleInWaitTime: 60_000 }) };
  const m = createMemory();
  assert.equal(drains(low, m, NOW).length, 0);
  assert.equal(m.lowSince.get(EDGE), NOW);
  assert.equal(drains(low, m, NOW + 59_999).length, 0);
  // Busy for a moment: the wait starts over.
  drains({ ...low, nodes: withOrigin(node('a', { load: 50 }), node('b', { load: 50 })) }, m, NOW + 59_999);
  assert.equal(m.lowSince.has(EDGE), false);
  assert.equal(drains(low, m, NOW + 60_000).length, 0);
  assert.equal(drains(low, m, NOW + 120_000).length, 1);
});

test('scale-in: origins carrying live streams are never drained', async (t) => {
  const policies = policy({ minLimit: 0, maxLimit: 0 }, { minLimit: 1, maxLimit: 3 });
  await t.test('the idle origin goes, the publishing one stays', () => {
    const d = drains({ policies, nodes: [origin('o1', { connections: { publishers: 1, subscribers: 0 } }), origin('o2', { launchTime: NOW - 700_000 })] });
    assert.deepEqual(d.map((x) => x.address), ['o2']);
    assert.equal(d[0].key, ORIGIN);
  });
  await t.test('every origin publishing: none', () => {
    assert.equal(drains({ policies, nodes: [origin('o1', { connections: { publishers: 1, subscribers: 0 } }), origin('o2', { connections: { publishers: 2, subscribers: 0 } })] }).length, 0);
  });
  await t.test('a publish event since the last report counts', () => {
    const w = world({ policies, nodes: [origin('o1', { connections: { publishers: 1, subscribers: 0 } }), origin('o2')] });
    w.view.addStream({ address: 'o2', scope: 'live', name: 's', publishers: 1, subscribers: 0, startTime: NOW });
    assert.equal(ofKind(plan(w).in, 'drain').length, 0);
  });
});

test('drain end: terminated when empty after the drain started, or at the drain timeout — never earlier with clients', async (t) => {
  const started = NOW - 60_000;
  const cases: { name: string; n: Partial<Parameters<typeof node>[1]>; handedOut?: number; expect: string | null }[] = [
    { name: 'empty, reported after the drain started', n: { load: 0, lastReport: NOW - 1000 }, expect: 'drain-empty' },
    { name: 'empty, but the last report predates the drain', n: { load: 0, lastReport: started - 1 }, expect: null },
    { name: 'empty report, but clients handed out since', n: { load: 0, lastReport: NOW - 1000 }, handedOut: 1, expect: null },
    { name: 'clients left before the timeout', n: { load: 7, lastReport: NOW - 1000 }, expect: null },
    { name: 'clients left at the timeout', n: { load: 7, lastReport: NOW - 1000, drainStartedAt: NOW - 600_000 }, expect: 'drain-timeout' },
    { name: 'sunset node drains the same way', n: { load: 0, lastReport: NOW - 1000, stateReason: 'sunset by the administrator' }, expect: 'drain-empty' },
    { name: 'dead draining node is left to the health planner', n: { load: 0, lastReport: NOW - 31_000, drainStartedAt: NOW - 40_000 }, expect: null },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const w = world({ nodes: withOrigin(node('a'), node('d', { state: 'draining', drainStartedAt: started, stateReason: 'scale-in: x', ...c.n })) });
      if (c.handedOut) w.view.noteHandedOut('d', c.handedOut);
      const term = ofKind(plan(w).in, 'terminate');
      assert.deepEqual(term.map((x) => x.rule), c.expect ? [c.expect] : []);
      if (c.expect) {
        assert.equal(term[0].address, 'd');
        assert.equal(term[0].cloudReason, 'scale-in');
        assert.equal(term[0].eventKind, 'terminate');
        assert.equal(term[0].data.drainTimeout, 600_000);
      }
    });
  }
});

test('scale-in: deleting groups are skipped, drains included', () => {
  const w = world({ groups: [group({ state: 'deleting' })], nodes: withOrigin(node('a'), node('b'), node('d', { state: 'draining', load: 0 })) });
  assert.equal(plan(w).in.length, 0);
});
