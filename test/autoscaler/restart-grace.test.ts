import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launched, NOW, node, ofKind, origin, plan, world } from './helpers.ts';

// Stored evidence is 10 minutes old; this manager began observing `ago` ms before NOW.
const stale = NOW - 600_000;

test('restart grace: a silent node is dead only nodeStateToleranceTime after this manager began observing', async (t) => {
  for (const c of [
    { ago: 30_000, dead: false },
    { ago: 30_001, dead: true },
  ]) {
    await t.test(`observing for ${c.ago} ms`, () => {
      const p = plan(world({ observedSince: NOW - c.ago, nodes: [origin('o'), node('e', { lastReport: stale })] }));
      const term = ofKind(p.health, 'terminate');
      assert.deepEqual(term.map((i) => i.address), c.dead ? ['e'] : []);
      if (c.dead) assert.match(term[0].reason, /no report for 30001 ms/);
      const grace = ofKind(p.health, 'event').filter((e) => e.rule === 'restart-grace');
      assert.equal(grace.length, c.dead ? 0 : 1);
      if (!c.dead) assert.equal(launched(p.out), 0, 'nothing replaced during the grace');
    });
  }
});

test('restart grace: a pending node gets newNodePingTimeThreshold from the observation start', () => {
  const pending = node('p', { state: 'pending', lastReport: null, launchTime: stale });
  assert.equal(ofKind(plan(world({ observedSince: NOW - 150_000, nodes: [origin('o'), pending] })).health, 'terminate').length, 0);
  assert.equal(ofKind(plan(world({ observedSince: NOW - 150_001, nodes: [origin('o'), pending] })).health, 'terminate').length, 1);
});

test('restart grace: the grace event is recorded once per observation episode', () => {
  const w = world({ observedSince: NOW - 1000, nodes: [origin('o', { lastReport: stale }), node('e', { lastReport: stale })] });
  const first = plan(w);
  const ev = ofKind(first.health, 'event').filter((e) => e.rule === 'restart-grace');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].eventKind, 'grace');
  assert.match(ev[0].reason, /2 node\(s\) \(o, e\)/);
  first.memory.notes.set(ev[0].note!.key, ev[0].note!.value);
  assert.equal(ofKind(plan(w, first.memory).health, 'event').filter((e) => e.rule === 'restart-grace').length, 0);
  const again = plan(world({ observedSince: NOW - 500, nodes: [origin('o', { lastReport: stale }), node('e', { lastReport: stale })] }), first.memory);
  assert.equal(ofKind(again.health, 'event').filter((e) => e.rule === 'restart-grace').length, 1, 'a new leadership is a new episode');
});

test('restart grace: scale-in waits for every node of the role to report to this manager', () => {
  const nodes = [origin('o'), node('e1', { lastReport: NOW - 2000 }), node('e2', { lastReport: NOW - 2000 })];
  assert.equal(ofKind(plan(world({ observedSince: NOW - 1000, nodes })).in, 'drain').length, 0, 'loads from before the start are not trusted');
  assert.equal(ofKind(plan(world({ observedSince: NOW - 3000, nodes })).in, 'drain').length, 1, 'fresh reports: scale-in as usual');
});

test('restart grace: a drain ends as empty only on a report this manager received', () => {
  const d = node('d', { state: 'draining', lastReport: NOW - 2000, stateReason: 'scale-in', drainStartedAt: NOW - 5000 });
  const nodes = [origin('o'), node('e'), d];
  assert.equal(ofKind(plan(world({ observedSince: NOW - 1000, nodes })).in, 'terminate').length, 0);
  assert.equal(ofKind(plan(world({ observedSince: NOW - 3000, nodes })).in, 'terminate').length, 1);
});
