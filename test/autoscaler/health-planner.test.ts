import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyResults, createMemory } from '../../src/autoscaler/memory.ts';
import { flatPolicy, group, launched, NOW, node, ofKind, origin, plan, SETTINGS, target, world } from './helpers.ts';

test('failed launch: pending without a report past newNodePingTimeThreshold', async (t) => {
  const cases = [
    { name: 'just inside the threshold', launchTime: NOW - 150_000, expect: 0 },
    { name: 'past it', launchTime: NOW - 150_001, expect: 1 },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const p = plan(world({ nodes: [origin('o'), node('p', { state: 'pending', lastReport: null, launchTime: c.launchTime })] }));
      const term = ofKind(p.health, 'terminate');
      assert.equal(term.length, c.expect);
      if (!c.expect) return;
      assert.equal(term[0].address, 'p');
      assert.equal(term[0].rule, 'failed-launch');
      assert.equal(term[0].eventKind, 'dead');
      assert.equal(term[0].cloudReason, 'failed');
      assert.match(term[0].reason, /no report within 150000 ms/);
      // Replaced in the same tick through minLimit (edge min 1, the failed one does not count).
      const l = ofKind(p.out, 'launch');
      assert.equal(launched(l), 1);
      assert.equal(l[0].eventKind, 'replace');
    });
  }
});

test('dead node: silent past nodeStateToleranceTime, keepRow follows deleteDeadGroupNodesOnCleanUp', async (t) => {
  const cases = [
    { name: 'inside tolerance', lastReport: NOW - 30_000, state: 'inservice' as const, del: true, expect: null },
    { name: 'dead, rows deleted', lastReport: NOW - 30_001, state: 'inservice' as const, del: true, expect: false },
    { name: 'dead, rows kept', lastReport: NOW - 30_001, state: 'inservice' as const, del: false, expect: true },
    { name: 'draining node dies too', lastReport: NOW - 45_000, state: 'draining' as const, del: true, expect: false },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const w = world({ settings: { deleteDeadGroupNodesOnCleanUp: c.del }, nodes: [origin('o'), node('a'), node('x', { lastReport: c.lastReport, state: c.state })] });
      const term = ofKind(plan(w).health, 'terminate');
      if (c.expect === null) return assert.equal(term.length, 0);
      assert.equal(term.length, 1);
      assert.equal(term[0].address, 'x');
      assert.equal(term[0].rule, 'dead');
      assert.equal(term[0].eventKind, 'dead');
      assert.equal(term[0].cloudReason, 'failed');
      assert.equal(term[0].keepRow, c.expect);
      assert.equal(term[0].data.nodeStateToleranceTime, 30_000);
    });
  }
});

test('dead origin, other origin alive: only that origin goes, no shutdown', () => {
  const w = world({
    settings: { replaceDeadClusters: false },
    policies: [flatPolicy([target('origin', { maxLimit: 2 }), target('edge')])],
    nodes: [origin('o1', { lastReport: NOW - 60_000 }), origin('o2'), node('e1')],
  });
  const p = plan(w);
  assert.deepEqual(ofKind(p.health, 'terminate').map((x) => x.address), ['o1']);
  assert.equal(ofKind(p.health, 'event').length, 0);
});

test('dead last origin, replaceDeadClusters=true: edges stay, a replacement origin is launched', () => {
  const w = world({ nodes: [origin('o1', { lastReport: NOW - 60_000 }), node('e1'), node('e2')] });
  const p = plan(w);
  const term = ofKind(p.health, 'terminate');
  assert.deepEqual(term.map((x) => x.address), ['o1']);
  assert.match(term[0].reason, /replaceDeadClusters=true/);
  const l = ofKind(p.out, 'launch');
  assert.equal(l.length, 1);
  assert.equal(l[0].role, 'origin');
  assert.equal(l[0].eventKind, 'replace');
  assert.equal(l[0].rule, 'min-limit');
});

test('dead last origin, replaceDeadClusters=false: the cluster is shut down with one explaining event', () => {
  const w = world({
    settings: { replaceDeadClusters: false },
    nodes: [origin('o1', { lastReport: NOW - 60_000 }), node('e1'), node('e2', { state: 'draining', stateReason: 'sunset' }), node('e3', { state: 'pending', lastReport: null, launchTime: NOW - 1000 })],
  });
  const m = createMemory();
  const p = plan(w, m);
  const term = ofKind(p.health, 'terminate');
  assert.deepEqual(term.map((x) => x.address).sort(), ['e1', 'e2', 'e3', 'o1']);
  assert.equal(term.find((x) => x.address === 'o1')!.eventKind, 'dead');
  for (const x of term.filter((x) => x.address !== 'o1')) {
    assert.equal(x.rule, 'cluster-shutdown');
    assert.equal(x.cloudReason, 'scale-in', 'healthy hosts go back to the pool');
  }
  const ev = ofKind(p.health, 'event');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].rule, 'cluster-shutdown');
  assert.match(ev[0].reason, /replaceDeadClusters=false/);
  assert.deepEqual(ev[0].data.terminating, ['e1', 'e2', 'e3']);
  assert.equal(p.out.length, 0, 'no origin relaunched');
  assert.equal(p.in.length, 0, 'the sunset edge is not drained separately');

  // Next tick: the event was recorded; an edge launch that was in flight lands → ended too, no new origin.
  applyResults(m, ev.map((item) => ({ item, ok: true })), NOW, SETTINGS);
  const later = world({ settings: { replaceDeadClusters: false }, nodes: [node('late', { state: 'pending', lastReport: null, launchTime: NOW })] });
  const p2 = plan(later, m, NOW + 1000);
  assert.deepEqual(ofKind(p2.health, 'terminate').map((x) => x.address), ['late']);
  assert.equal(ofKind(p2.health, 'event').length, 0, 'explained once');
  assert.equal(p2.out.length, 0);

  // An operator launches a new origin: the group lives again and its minLimits come back.
  const revived = world({ settings: { replaceDeadClusters: false }, nodes: [origin('o9', { state: 'pending', lastReport: null, launchTime: NOW + 2000 })] });
  const p3 = plan(revived, m, NOW + 3000);
  assert.equal(m.shutDown.has('g1'), false);
  assert.equal(launched(p3.out), 1);
});

test('stuck terminating node is terminated again', () => {
  const w = world({ nodes: [origin('o'), node('a'), node('t', { state: 'terminating', stateUpdated: NOW - 31_000, stateReason: 'Dead edge: no report' }), node('u', { state: 'terminating', stateUpdated: NOW - 1000 })] });
  const term = ofKind(plan(w).health, 'terminate');
  assert.deepEqual(term.map((x) => [x.address, x.cloudReason]), [['t', 'failed']]);
});

test('health: deleting groups are skipped; terminated rows are history', () => {
  assert.equal(plan(world({ groups: [group({ state: 'deleting' })], nodes: [origin('o', { lastReport: NOW - 60_000 })] })).all.length, 0);
  const p = plan(world({ nodes: [origin('o'), node('a'), node('old', { state: 'terminated', lastReport: NOW - 999_999 })] }));
  assert.equal(p.all.length, 0);
});
