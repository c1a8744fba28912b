import { test } from 'node:test';
import assert from 'node:assert/strict';
import { select, selectByScan, DEFAULT_WEIGHTS, type EvaluatorWeights, type Selection, type SelectRequest } from '../../src/broker/select.ts';
import type { ClusterNode, LinkState, NodeState, Role } from '../../src/domain/types.ts';
import { ClusterView, T0, SPEED, node } from './support.ts';

/**
 * The candidate heaps (src/cluster/candidates.ts, kept by the view) must give the answers of a plain scan
 * (design §7 rules: region, link tier, load ratio with hand-outs, pressure, address; strict; endpoints=N;
 * stickiness) on random clusters, while loads, states, links and nodes change under them.
 */

/** Seeded PRNG (mulberry32): a failure names its seed and replays. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

const REGIONS = ['r1', 'r2', 'r3'];
const LINK_STATES: LinkState[] = ['established', 'established', 'established', 'prospective', 'connecting', 'disconnecting', 'error'];
const STATES: NodeState[] = ['inservice', 'inservice', 'inservice', 'inservice', 'draining', 'pending'];
const STREAMS = ['s0', 's1', 's2', 's3'];

function randomNode(r: Rng, address: string, role: Role): ClusterNode {
  // Few distinct values, so ties on ratio and pressure are common and the address decides.
  const capacity = r.pick([0, 10, 10, 20, 100]);
  const lastReport = r.pick([T0, T0, T0, T0 - SPEED, T0 - 2 * SPEED - 1, null]);
  return node(address, {
    role,
    region: r.pick(REGIONS),
    state: r.pick(STATES),
    capacity,
    lastReport,
    connections: { publishers: 0, subscribers: r.int(capacity + 3) },
    cpu: r.pick([null, 0.2, 0.5, 0.8]),
    memory: r.pick([null, 0.4, 0.5]),
  });
}

function randomCluster(r: Rng, view: ClusterView) {
  const addr = (i: number) => `10.0.${r.int(3)}.${i}`;
  const nodes: ClusterNode[] = [];
  let i = 0;
  for (const [role, n] of [
    ['origin', 1 + r.int(4)],
    ['transcoder', r.int(2)],
    ['relay', r.int(3)],
    ['edge', r.int(25)],
  ] as const) {
    for (let k = 0; k < n; k++) nodes.push(randomNode(r, addr(i++), role));
  }
  for (const n of nodes) view.setNode(n);
  const parents = nodes.filter((n) => n.role !== 'edge');
  for (const n of nodes) {
    if (n.role === 'origin' || n.role === 'transcoder') continue;
    const ups = n.role === 'relay' ? nodes.filter((p) => p.role === 'origin') : parents;
    for (let k = 1 + r.int(2); k > 0 && ups.length; k--) {
      const p = r.pick(ups);
      if (p.address !== n.address) view.setRelation({ group: 'g1', parent: p.address, child: n.address, state: r.pick(LINK_STATES), stateUpdated: T0 });
    }
  }
  for (const name of STREAMS) {
    const sources = nodes.filter((n) => n.role === 'origin' || n.role === 'transcoder');
    for (let k = r.int(3); k > 0; k--) {
      view.addStream({ address: r.pick(sources).address, scope: 'live', name, publishers: r.pick([0, 1, 1]), subscribers: 0, startTime: T0 });
    }
  }
}

/** One change of the kind reports, the broker, the autoscaler and links make. */
function randomChange(r: Rng, view: ClusterView) {
  const all = [...view.nodes.values()];
  if (!all.length) return;
  const n = r.pick(all);
  switch (r.int(8)) {
    case 0:
    case 1:
      view.noteHandedOut(n.address, 1 + r.int(4));
      return;
    case 2: {
      // A report: new load and pressure, hand-outs counted in it.
      view.resetHandedOut(n.address);
      view.setNode({ ...n, connections: { publishers: 0, subscribers: r.int(n.capacity + 3) }, cpu: r.pick([null, 0.2, 0.8]), lastReport: r.pick([T0, T0 - 2 * SPEED - 1]) });
      return;
    }
    case 3:
      view.setNode({ ...n, state: r.pick(STATES), region: r.next() < 0.2 ? r.pick(REGIONS) : n.region, capacity: r.next() < 0.2 ? r.pick([0, 10, 100]) : n.capacity });
      return;
    case 4: {
      const rel = r.pick(view.allRelations().length ? view.allRelations() : [null]);
      if (rel) view.setRelation({ ...rel, state: r.pick(LINK_STATES) });
      return;
    }
    case 5: {
      const rel = r.pick(view.allRelations().length ? view.allRelations() : [null]);
      if (rel) view.removeRelation(rel.parent, rel.child);
      return;
    }
    case 6:
      if (r.next() < 0.3) view.removeNode(n.address);
      else if (n.role === 'edge') {
        const o = all.find((p) => p.role === 'origin' || p.role === 'relay');
        if (o) view.setRelation({ group: 'g1', parent: o.address, child: n.address, state: 'established', stateUpdated: T0 });
      }
      return;
    case 7:
      if (n.role === 'origin') view.addStream({ address: n.address, scope: 'live', name: r.pick(STREAMS), publishers: 1, subscribers: 0, startTime: T0 });
      else if (r.next() < 0.1) view.setNode({ ...n, role: r.pick(['edge', 'relay', 'origin'] as const) });
      return;
  }
}

function randomRequest(r: Rng): SelectRequest {
  return {
    action: r.pick(['broadcast', 'subscribe', 'subscribe'] as const),
    scope: 'live',
    name: r.pick([...STREAMS, 'new']),
    region: r.pick([undefined, undefined, ...REGIONS, 'elsewhere']),
    strict: r.next() < 0.3,
    endpoints: r.pick([undefined, 1, 2, 3]),
    transcode: r.next() < 0.2,
    hasProvision: r.next() < 0.5,
  };
}

const shape = (s: Selection) => (s.ok ? { ok: true, kind: s.kind, nodes: s.slots.map((x) => x.address) } : s);

test('the candidate heaps give the answers of a plain scan on random clusters, as loads and links change', () => {
  let fromHeaps = 0;
  let answers = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const r = rng(seed);
    const view = new ClusterView();
    const weights: EvaluatorWeights = r.next() < 0.2 ? { ...DEFAULT_WEIGHTS, memory: 0, connections: 0 } : DEFAULT_WEIGHTS;
    // Half the views rank before they fill (heaps kept step by step), half after (heaps built at once).
    const early = seed % 2 === 0;
    if (early) view.rankCandidates(weights);
    randomCluster(r, view);
    if (!early) view.rankCandidates(weights);
    for (let step = 0; step < 60; step++) {
      randomChange(r, view);
      const req = randomRequest(r);
      const now = T0 + r.pick([0, 0, SPEED, 2 * SPEED + 5]);
      const got = select(view, now, weights, req);
      const want = selectByScan(view, now, weights, req);
      assert.deepEqual(shape(got), shape(want), `seed ${seed} step ${step}: ${JSON.stringify(req)} at +${now - T0} ms`);
      if (got.ok) answers++;
      if (got.ok && got.fromHeaps) fromHeaps++;
    }
  }
  // Not vacuous: most answers came from the heaps, not from the scan fallback.
  assert.ok(answers > 1000, `${answers} answers`);
  assert.ok(fromHeaps > answers * 0.6, `${fromHeaps} of ${answers} answers from the heaps`);
});

test('a subscribe reads the fan-out from the heap: hand-outs move the edge down, a report moves it back', () => {
  const view = new ClusterView();
  view.rankCandidates(DEFAULT_WEIGHTS);
  view.setNode(node('o', { role: 'origin' }));
  view.addStream({ address: 'o', scope: 'live', name: 's', publishers: 1, subscribers: 0, startTime: T0 });
  for (let i = 0; i < 500; i++) {
    view.setNode(node(`e${String(i).padStart(3, '0')}`, { role: 'edge', capacity: 10, connections: { publishers: 0, subscribers: 5 } }));
    view.setRelation({ group: 'g1', parent: 'o', child: `e${String(i).padStart(3, '0')}`, state: 'established', stateUpdated: T0 });
  }
  const first = () => {
    const s = select(view, T0, DEFAULT_WEIGHTS, { action: 'subscribe', scope: 'live', name: 's' });
    assert.ok(s.ok && s.fromHeaps);
    return s.slots[0].address;
  };
  assert.equal(first(), 'e000');
  view.noteHandedOut('e000');
  assert.equal(first(), 'e001');
  view.resetHandedOut('e000');
  assert.equal(first(), 'e000');
  // Every edge full: the scan words the refusal.
  for (const n of [...view.nodes.values()]) if (n.role === 'edge') view.noteHandedOut(n.address, 5);
  const full = select(view, T0, DEFAULT_WEIGHTS, { action: 'subscribe', scope: 'live', name: 's' });
  assert.ok(!full.ok && full.code === 'full');
});
