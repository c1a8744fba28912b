import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateRole, groupMode, nodesNeeded, pct } from '../../src/autoscaler/estimator.ts';
import { group, NOW, node, origin, snapshot, world, type WorldOptions } from './helpers.ts';

test('pct: nothing is 0 %, connections without capacity are an overload', () => {
  assert.equal(pct(0, 0), 0);
  assert.equal(pct(5, 0), Number.POSITIVE_INFINITY);
  assert.equal(pct(30, 200), 15);
});

test('nodesNeeded: fewest nodes to bring connections/capacity to ≤ threshold', () => {
  const cases: [connections: number, capacity: number, unit: number, threshold: number, expect: number][] = [
    [120, 200, 100, 60, 0], // exactly 60 %
    [121, 200, 100, 60, 1],
    [140, 200, 100, 60, 1], // 140/300 = 46.7 %
    [200, 200, 100, 60, 2], // 200/300 = 66.7 % is not enough
    [1000, 0, 100, 50, 20],
    [10, 0, 0, 60, 1], // unknown unit capacity: one at a time
  ];
  for (const [c, k, u, th, e] of cases) assert.equal(nodesNeeded(c, k, u, th), e, `${c}/${k} unit ${u} @${th}%`);
});

test('estimateRole: counts and capacity on its way', () => {
  const w = world({
    nodes: [
      origin('o'),
      node('a', { load: 80 }),
      node('b', { load: 40 }),
      node('p', { state: 'pending', lastReport: null, launchTime: NOW - 10_000 }),
      node('old', { state: 'pending', lastReport: null, launchTime: NOW - 130_000 }),
      node('f', { state: 'pending', lastReport: null, launchTime: NOW - 151_000 }),
      node('x', { lastReport: NOW - 31_000, load: 100 }),
      node('d', { state: 'draining', stateReason: 'scale-in: x', load: 3 }),
      node('s', { state: 'draining', stateReason: 'sunset', load: 3 }),
    ],
    launching: [{ identifier: 'l', group: 'g1', role: 'edge', zone: 'us-test1-b', since: NOW - 1000 }],
  });
  const r = snapshot(w).groups[0].roles.find((x) => x.role === 'edge')!;
  const e = estimateRole(r, w.settings, NOW);
  assert.deepEqual(
    { inservice: e.inservice, pending: e.pending, inFlight: e.inFlight, draining: e.draining, scaleIn: e.scaleInDraining, dead: e.dead, failed: e.failed, count: e.count },
    { inservice: 2, pending: 2, inFlight: 1, draining: 2, scaleIn: 1, dead: 1, failed: 1, count: 5 },
  );
  assert.equal(e.connections, 120, 'dead and draining nodes carry no load');
  assert.equal(e.capacity, 200);
  assert.equal(e.capacityOnTheWay, 300, 'pending p and old (older than the warm-up, not yet failed) + launch l; f failed');
  assert.equal(e.loadPct, 60);
  assert.equal(e.breach, false, 'the alarm is GREATERTHAN: exactly at the threshold is no breach');
  assert.equal(e.candidate?.address, 'b');
  assert.deepEqual(e.cancellable.map((n) => n.address), ['d']);
});

test('groupMode: running, idle or shut down', async (t) => {
  const cases: { name: string; o: WorldOptions; expect: string }[] = [
    { name: 'new group, nothing launched', o: { groups: [group({ state: 'new' })] }, expect: 'idle' },
    { name: 'first origin launching', o: { groups: [group({ state: 'active' })], launching: [{ identifier: 'i', group: 'g1', role: 'origin', zone: 'us-test1-a', since: NOW }] }, expect: 'running' },
    { name: 'active, everything gone, replaceDeadClusters=true', o: {}, expect: 'running' },
    { name: 'active, everything gone, replaceDeadClusters=false', o: { settings: { replaceDeadClusters: false } }, expect: 'idle' },
    { name: 'origin dead, edges alive, replaceDeadClusters=false', o: { settings: { replaceDeadClusters: false }, nodes: [origin('o', { lastReport: NOW - 60_000 }), node('e')] }, expect: 'shutdown' },
    { name: 'origin dead, edges alive, replaceDeadClusters=true', o: { nodes: [origin('o', { lastReport: NOW - 60_000 }), node('e')] }, expect: 'running' },
    { name: 'one origin of two dead', o: { settings: { replaceDeadClusters: false }, nodes: [origin('o', { lastReport: NOW - 60_000 }), origin('o2'), node('e')] }, expect: 'running' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const w = world(c.o);
      assert.equal(groupMode(snapshot(w).groups[0], w.settings, NOW), c.expect);
    });
  }
});

test('snapshot: terminated rows left out, origin publishers from reports or publish events, unknown groups ignored', () => {
  const w = world({ nodes: [origin('o', { connections: { publishers: 0, subscribers: 0 } }), node('t', { state: 'terminated' }), node('z', { group: 'other' })] });
  w.view.addStream({ address: 'o', scope: 'live', name: 's', publishers: 1, subscribers: 0, startTime: NOW });
  const s = snapshot(w);
  assert.equal(s.groups.length, 1);
  assert.deepEqual(s.groups[0].nodes.map((n) => [n.address, n.publishers]), [['o', 1]]);
});
