import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemory } from '../../src/autoscaler/memory.ts';
import { keyOf } from '../../src/autoscaler/estimator.ts';
import type { LaunchItem } from '../../src/autoscaler/types.ts';
import { flatPolicy, group, launched, NOW, node, ofKind, origin, plan, regionPolicy, target, world, type WorldOptions } from './helpers.ts';

const EDGE = keyOf('g1', 'us-test1', 'edge');
const withOrigin = (...edges: ReturnType<typeof node>[]) => [origin('10.0.0.1'), ...edges];
const edgePolicy = (over: Parameters<typeof target>[1] = {}) => [flatPolicy([target('origin', { maxLimit: 1 }), target('edge', over)])];

test('scale-out: load above the threshold launches exactly the nodes needed, at the threshold nothing', async (t) => {
  const cases: { name: string; loads: number[]; edge?: Parameters<typeof target>[1]; expect: number }[] = [
    { name: 'below threshold (50%)', loads: [50, 50], expect: 0 },
    { name: 'exactly at threshold (60%) is not greater', loads: [60, 60], expect: 0 },
    { name: '70% of 200 → 1 node brings 140/300 ≤ 60%', loads: [70, 70], expect: 1 },
    { name: '100% of 200 → 2 nodes (200/400 ≤ 60%, 1 would give 66.7%)', loads: [100, 100], expect: 2 },
    { name: 'scaleAdjustment 3 is the minimum step', loads: [70, 70], edge: { scaleAdjustment: 3 }, expect: 3 },
    { name: 'needed beyond scaleAdjustment wins', loads: [100, 100, 100, 100], edge: { scaleAdjustment: 2 }, expect: 3 },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const w = world({ nodes: withOrigin(...c.loads.map((l, i) => node(`10.0.1.${i}`, { load: l }))), policies: edgePolicy(c.edge) });
      const p = plan(w);
      assert.equal(launched(p.out), c.expect);
      if (c.expect) {
        const [l] = ofKind(p.out, 'launch');
        assert.equal(l.rule, 'scale-out');
        assert.equal(l.role, 'edge');
        assert.equal(l.region, 'us-test1');
        assert.equal(l.eventKind, 'launch');
        assert.equal(l.data.threshold, 60);
        assert.equal(typeof l.data.loadPct, 'number');
        assert.equal(l.data.inservice, c.loads.length);
        assert.equal(l.data.capacity, c.loads.length * 100);
        assert.match(l.reason, /> threshold 60%/);
      }
    });
  }
});

test('scale-out: per-role threshold from the alarm, handed-out clients count as load', () => {
  const w = world({ nodes: withOrigin(node('10.0.1.1', { load: 40 })), thresholds: { edge: 30 } });
  assert.equal(launched(plan(w).out), 1);
  const w2 = world({ nodes: withOrigin(node('10.0.1.1', { load: 50 })) });
  assert.equal(launched(plan(w2).out), 0);
  w2.view.noteHandedOut('10.0.1.1', 20); // a burst since the last report: 70%
  assert.equal(launched(plan(w2).out), 1);
});

test('scale-out: maxLimit caps the launch and the refusal is explained once', () => {
  const w = world({ nodes: withOrigin(node('a', { load: 100 }), node('b', { load: 100 })), policies: edgePolicy({ maxLimit: 3 }) });
  const m = createMemory();
  let p = plan(w, m);
  assert.equal(launched(p.out), 1, 'only room for one more');
  const ev = ofKind(p.out, 'event');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].eventKind, 'refused');
  assert.equal(ev[0].rule, 'max-limit');
  assert.equal(ev[0].data.wanted, 2);
  assert.equal(ev[0].data.room, 1);

  // At maxLimit: nothing launched; the note is recorded once per episode.
  const full = world({ nodes: withOrigin(node('a', { load: 100 }), node('b', { load: 100 }), node('c', { load: 100 })), policies: edgePolicy({ maxLimit: 3 }) });
  p = plan(full, m);
  assert.equal(launched(p.out), 0);
  assert.equal(ofKind(p.out, 'event').length, 1);
  m.notes.set(EDGE, 'max-limit'); // what applyResults does after the event is recorded
  p = plan(full, m, NOW + 1000);
  assert.equal(p.out.length, 0, 'no second note in the same episode');
});

test('scale-out: cool-down since the last scale-out of the key', async (t) => {
  const cases = [
    { name: 'inside cool-down', last: NOW - 60_000, expect: 0 },
    { name: 'cool-down just over', last: NOW - 180_000, expect: 1 },
    { name: 'other region scaled: not this key', last: null, expect: 1 },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const w = world({ nodes: withOrigin(node('a', { load: 70 })), policies: edgePolicy({ coolDownPeriod: 180_000 }) });
      const m = createMemory();
      if (c.last !== null) m.lastScaleOut.set(EDGE, c.last);
      else m.lastScaleOut.set(keyOf('g1', 'eu-test1', 'edge'), NOW - 1000);
      const p = plan(w, m);
      assert.equal(launched(p.out), c.expect);
      if (!c.expect) assert.equal(p.out.length, 0);
    });
  }
});

test('scale-out: scaleOutWaitTime needs a continuous breach', () => {
  const nodes = withOrigin(node('a', { load: 70 }));
  // Reports stay fresh enough for the whole test (time moves here, the nodes' lastReport does not).
  const settings = { nodeStateToleranceTime: 3_600_000 };
  const w = world({ nodes, settings, policies: edgePolicy({ scaleOutWaitTime: 30_000 }) });
  const m = createMemory();
  assert.equal(launched(plan(w, m, NOW).out), 0, 'breach starts now');
  assert.equal(m.breachSince.get(EDGE), NOW);
  assert.equal(launched(plan(w, m, NOW + 29_999).out), 0);
  // The load dips: the wait starts over.
  const calm = world({ nodes: withOrigin(node('a', { load: 10 })), settings, policies: edgePolicy({ scaleOutWaitTime: 30_000 }) });
  plan(calm, m, NOW + 29_999);
  assert.equal(m.breachSince.has(EDGE), false);
  assert.equal(launched(plan(w, m, NOW + 40_000).out), 0);
  assert.equal(launched(plan(w, m, NOW + 70_000).out), 1);
});

test('scale-out: pending nodes and launches in flight are capacity on its way (no second launch for a surge)', async (t) => {
  const base = (): WorldOptions => ({ nodes: withOrigin(node('a', { load: 70 }), node('b', { load: 70 })) });
  const cases: { name: string; add: (o: WorldOptions) => void; expect: number }[] = [
    { name: 'no capacity on its way', add: () => {}, expect: 1 },
    { name: 'pending node launched 10 s ago', add: (o) => o.nodes!.push(node('p', { state: 'pending', lastReport: null, launchTime: NOW - 10_000 })), expect: 0 },
    // A node that boots slower than estimatedWarmUpTime gets no twin: it counts until it is a failed launch.
    { name: 'pending node older than estimatedWarmUpTime still counts', add: (o) => o.nodes!.push(node('p', { state: 'pending', lastReport: null, launchTime: NOW - 121_000 })), expect: 0 },
    { name: 'pending node past newNodePingTimeThreshold is a failed launch, no longer on its way', add: (o) => o.nodes!.push(node('p', { state: 'pending', lastReport: null, launchTime: NOW - 150_001 })), expect: 1 },
    { name: 'launch in flight longer than estimatedWarmUpTime still counts', add: (o) => (o.launching = [{ identifier: 'i1', group: 'g1', role: 'edge', zone: 'us-test1-a', since: NOW - 121_000 }]), expect: 0 },
    { name: 'launch in flight (view.launching)', add: (o) => (o.launching = [{ identifier: 'i1', group: 'g1', role: 'edge', zone: 'us-test1-a', since: NOW - 5000 }]), expect: 0 },
    { name: 'launch in flight in another region does not count', add: (o) => (o.launching = [{ identifier: 'i1', group: 'g1', role: 'edge', zone: 'eu-test1-a', since: NOW - 5000 }]), expect: 1 },
    { name: 'actuator in-flight entry between ack and row', add: (o) => (o.inFlight = [{ identifier: 'i9', group: 'g1', role: 'edge', region: 'us-test1', zone: 'us-test1-a', since: NOW - 5000 }]), expect: 0 },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const o = base();
      c.add(o);
      assert.equal(launched(plan(world(o)).out), c.expect);
    });
  }
  await t.test('actuator entry already visible in view.launching is not counted twice', () => {
    const o = base();
    o.nodes!.push(node('c', { load: 100 }), node('d', { load: 100 }));
    // 340/400 = 85%: needs 2 more (340/600 ≤ 60%). One launch is on its way, seen twice.
    o.launching = [{ identifier: 'i1', group: 'g1', role: 'edge', zone: 'us-test1-a', since: NOW - 5000 }];
    o.inFlight = [{ identifier: 'i1', group: 'g1', role: 'edge', region: 'us-test1', zone: 'us-test1-a', since: NOW - 5000 }];
    assert.equal(launched(plan(world(o)).out), 1);
  });
});

test('scale-out: cancelling a scale-in drain is preferred to launching', async (t) => {
  await t.test('one cancelled drain covers the surge', () => {
    const w = world({ nodes: withOrigin(node('a', { load: 70 }), node('b', { load: 70 }), node('d', { state: 'draining', load: 5, stateReason: 'scale-in: test' })) });
    const p = plan(w);
    const c = ofKind(p.out, 'cancelDrain');
    assert.equal(c.length, 1);
    assert.equal(c[0].address, 'd');
    assert.equal(c[0].rule, 'scale-out');
    assert.equal(launched(p.out), 0);
  });
  await t.test('cancel then launch the rest', () => {
    const w = world({ nodes: withOrigin(node('a', { load: 100 }), node('b', { load: 100 }), node('c', { load: 100 }), node('d', { state: 'draining', load: 0, stateReason: 'scale-in: test' })) });
    const p = plan(w);
    assert.equal(ofKind(p.out, 'cancelDrain').length, 1);
    // 300/400 = 75% after the cancel: one more (300/500 = 60%).
    assert.equal(launched(p.out), 1);
  });
  await t.test('a sunset drain is never undone', () => {
    const w = world({ nodes: withOrigin(node('a', { load: 70 }), node('b', { load: 70 }), node('d', { state: 'draining', load: 5, stateReason: 'sunset by the administrator' })) });
    const p = plan(w);
    assert.equal(ofKind(p.out, 'cancelDrain').length, 0);
    assert.equal(launched(p.out), 1);
  });
  await t.test('a dead draining node is not brought back', () => {
    const w = world({ nodes: withOrigin(node('a', { load: 70 }), node('b', { load: 70 }), node('d', { state: 'draining', stateReason: 'scale-in: x', lastReport: NOW - 40_000 })) });
    const p = plan(w);
    assert.equal(ofKind(p.out, 'cancelDrain').length, 0);
    assert.equal(launched(p.out), 1);
  });
  await t.test('cancels happen during a pool back-off (no host needed)', () => {
    const w = world({ nodes: withOrigin(node('a', { load: 100 }), node('b', { load: 100 }), node('d', { state: 'draining', stateReason: 'scale-in: x' })) });
    const m = createMemory();
    m.poolBackoff.set(EDGE, { since: NOW - 1000, until: NOW + 29_000 });
    const p = plan(w, m);
    assert.equal(ofKind(p.out, 'cancelDrain').length, 1);
    assert.equal(launched(p.out), 0);
  });
});

test('minLimit: the floor is launched at once, dead, failed and draining nodes do not count', async (t) => {
  const cases: { name: string; edges: ReturnType<typeof node>[]; expect: number; replace: number }[] = [
    { name: 'one edge of min 2', edges: [node('a')], expect: 1, replace: 0 },
    { name: 'pending counts', edges: [node('a'), node('p', { state: 'pending', lastReport: null, launchTime: NOW - 200_000 + 60_000 })], expect: 0, replace: 0 },
    { name: 'dead edge is replaced', edges: [node('a'), node('x', { lastReport: NOW - 31_000 })], expect: 1, replace: 1 },
    { name: 'failed launch is replaced', edges: [node('a'), node('x', { state: 'pending', lastReport: null, launchTime: NOW - 151_000 })], expect: 1, replace: 1 },
    { name: 'sunset edge is replaced', edges: [node('a'), node('x', { state: 'draining', stateReason: 'sunset by the administrator' })], expect: 1, replace: 1 },
    { name: 'no edges at all', edges: [], expect: 2, replace: 0 },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const w = world({ nodes: withOrigin(...c.edges), policies: edgePolicy({ minLimit: 2, coolDownPeriod: 180_000 }) });
      const m = createMemory();
      m.lastScaleOut.set(EDGE, NOW - 1000); // the floor ignores the cool-down
      const items = ofKind(plan(w, m).out, 'launch');
      assert.equal(launched(items), c.expect);
      assert.equal(items.filter((i) => i.eventKind === 'replace').reduce((n, i) => n + i.count, 0), c.replace);
      for (const i of items) assert.equal(i.rule, 'min-limit');
    });
  }
  await t.test('a scale-in drain is cancelled instead of launching below the floor', () => {
    const w = world({ nodes: withOrigin(node('a'), node('x', { lastReport: NOW - 31_000 }), node('d', { state: 'draining', stateReason: 'scale-in: x' })), policies: edgePolicy({ minLimit: 2 }) });
    const p = plan(w);
    assert.equal(ofKind(p.out, 'cancelDrain').length, 1);
    assert.equal(ofKind(p.out, 'cancelDrain')[0].rule, 'min-limit');
    assert.equal(launched(p.out), 0);
  });
});

test('pool-exhausted back-off: no launches inside the window, launches again after it', () => {
  const w = world({ nodes: withOrigin(node('a')), settings: { nodeStateToleranceTime: 3_600_000 }, policies: edgePolicy({ minLimit: 3 }) });
  const m = createMemory();
  m.poolBackoff.set(EDGE, { since: NOW - 10_000, until: NOW + 20_000 });
  assert.equal(plan(w, m).out.length, 0);
  assert.equal(plan(w, m, NOW + 19_999).out.length, 0);
  assert.equal(launched(plan(w, m, NOW + 20_000).out), 2);
});

test('zone back-off: avoided zones are passed on; all zones avoided → no launch, explained once', () => {
  const w = world({ nodes: withOrigin(node('a', { load: 90 })), settings: { nodeStateToleranceTime: 3_600_000 } });
  const m = createMemory();
  m.zoneAvoidUntil.set('us-test1-a', NOW + 60_000);
  let [l] = ofKind(plan(w, m).out, 'launch');
  assert.deepEqual(l.avoidZones, ['us-test1-a']);
  assert.deepEqual(l.zones, ['us-test1-a', 'us-test1-b']);
  m.zoneAvoidUntil.set('us-test1-b', NOW + 60_000);
  let p = plan(w, m);
  assert.equal(launched(p.out), 0);
  const ev = ofKind(p.out, 'event');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].rule, 'no-zone');
  m.notes.set(ev[0].note!.key, ev[0].note!.value);
  assert.equal(plan(w, m, NOW + 1000).out.length, 0, 'explained once');
  // Back-off over: launches resume in any zone.
  p = plan(w, m, NOW + 60_000);
  [l] = ofKind(p.out, 'launch');
  assert.deepEqual(l.avoidZones, []);
});

test('multi-region: each region has its own targets, load and launches', () => {
  const policy = regionPolicy({
    default: [target('origin', { maxLimit: 1 }), target('edge', { minLimit: 1 })],
    'eu-test1': [target('origin', { minLimit: 0, maxLimit: 1 }), target('edge', { minLimit: 3 })],
  });
  const w = world({
    groups: [group({ regions: ['us-test1', 'eu-test1'] })],
    policies: [policy],
    nodes: [
      origin('o1'),
      node('us1', { load: 90 }),
      node('eu1', { region: 'eu-test1', availabilityZone: 'eu-test1-a', load: 10 }),
    ],
  });
  const items = ofKind(plan(w).out, 'launch') as LaunchItem[];
  const us = items.filter((i) => i.region === 'us-test1');
  const eu = items.filter((i) => i.region === 'eu-test1');
  assert.equal(launched(us), 1, 'us edge at 90% scales out');
  assert.equal(us[0].rule, 'scale-out');
  assert.equal(launched(eu), 2, 'eu edges up to the eu minLimit 3');
  assert.equal(eu[0].rule, 'min-limit');
  assert.deepEqual(eu[0].zones, ['eu-test1-a']);
  assert.equal(items.filter((i) => i.role === 'origin').length, 0, 'eu origin min 0, us has one');
});

test('groups: deleting, idle and missing policies are skipped; a wiped-out active group is replaced', async (t) => {
  await t.test('deleting', () => {
    const w = world({ groups: [group({ state: 'deleting' })], nodes: withOrigin(node('a', { load: 100 }), node('x', { lastReport: NOW - 60_000 })) });
    assert.equal(plan(w).all.length, 0);
  });
  await t.test('new group waiting for its first origin', () => {
    assert.equal(plan(world({ groups: [group({ state: 'new' })] })).all.length, 0);
  });
  await t.test('unknown scale policy', () => {
    const w = world({ groups: [group({ scalePolicy: 'nope' })], nodes: [origin('o'), node('a', { load: 100 })] });
    assert.equal(plan(w).out.length, 0);
  });
  await t.test('active group with no node left, replaceDeadClusters=true: minLimits come back', () => {
    const items = ofKind(plan(world()).out, 'launch');
    assert.deepEqual(items.map((i) => [i.role, i.count]).sort(), [['edge', 1], ['origin', 1]]);
  });
  await t.test('active group with no node left, replaceDeadClusters=false: stays down', () => {
    assert.equal(plan(world({ settings: { replaceDeadClusters: false } })).all.length, 0);
  });
});

test('scale-out: a launch config without the role is explained once instead of failing every tick', () => {
  const w = world({ nodes: withOrigin(), policies: [flatPolicy([target('origin', { maxLimit: 1 }), target('edge'), target('relay', { minLimit: 1 })])] });
  const lc = w.catalog.launchConfig;
  w.catalog.launchConfig = (n) => {
    const c = lc(n);
    return c && { ...c, targets: { target: c.targets.target.filter((x) => x.role !== 'relay') } };
  };
  const m = createMemory();
  const p = plan(w, m);
  assert.deepEqual(ofKind(p.out, 'launch').map((l) => l.role), ['edge']);
  const ev = ofKind(p.out, 'event');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].rule, 'no-launch-target');
  assert.equal(ev[0].role, 'relay');
  m.notes.set(ev[0].note!.key, ev[0].note!.value);
  assert.equal(ofKind(plan(w, m).out, 'event').length, 0);
});

test('scale-out: a group region the cloud has no zone for is explained once, nothing launched', () => {
  const w = world({ groups: [group({ regions: ['mars-1'] })], nodes: [origin('o', { region: 'mars-1' })], policies: [flatPolicy([target('origin', { maxLimit: 1 }), target('edge')])] });
  const m = createMemory();
  const p = plan(w, m);
  assert.equal(launched(p.out), 0);
  const ev = ofKind(p.out, 'event');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].rule, 'no-zone');
  assert.match(ev[0].reason, /no availability zone/);
  m.notes.set(ev[0].note!.key, ev[0].note!.value);
  assert.equal(plan(w, m).out.length, 0);
});
