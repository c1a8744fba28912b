import type { ClusterNode, NodeGroup, Role } from '../domain/types.ts';
import { applyResults, createMemory, observe } from './memory.ts';
import { planSnapshot } from './run-once.ts';
import { applySchedules, type ControlsOf } from './schedules.ts';
import { buildSnapshot, type SnapshotSources } from './snapshot.ts';
import { toDecision, type Decision } from './whatif.ts';
import type { ItemResult } from './types.ts';

/** One point of a load curve: from `at` on, the role carries `connections` (a step function). */
export interface CurvePoint {
  at: number;
  role: Role;
  connections: number;
}

export interface ReplayInput {
  curve: CurvePoint[];
  /** Nodes per role at the start (default: each role's minLimit in the policy judged). */
  initial?: Partial<Record<Role, number>>;
  /** From launch to first report of a new node. */
  bootMs: number;
  /** End of the replay (default: the last curve point plus one tick). */
  until?: number;
}

type Counts = { inservice: number; pending: number; draining: number };
export interface ReplayAnswer {
  from: number;
  to: number;
  stepMs: number;
  /** Node counts per role (and load %), one point at the start, one per change, one at the end. */
  series: Array<{ at: number; nodes: Partial<Record<Role, Counts>>; loadPct: Partial<Record<Role, number | null>> }>;
  decisions: Array<Decision & { at: number }>;
  /** Highest load % of each role against the in-service capacity it had then. */
  peak: Partial<Record<Role, { at: number; connections: number; capacity: number; loadPct: number | null }>>;
}

/** Replays longer than this many ticks are refused (the answer and the CPU time stay bounded). */
export const MAX_REPLAY_TICKS = 100_000;

/**
 * Drives the real estimator and planners over a load curve on a simulated clock, one tick per
 * autoscaler.tickInterval, for one group of the live view (its regions' first, its launch config, the
 * policy and alarms given by `src.catalog`). The simulated cluster is simple and says so in the README:
 * a launched node reports `bootMs` later; every node reports every tick; a role's connections are spread
 * evenly over its in-service nodes, so a draining node is empty at once. Pure (no I/O, no clock).
 */
export function replay(src: Omit<SnapshotSources, 'view' | 'inFlight'>, group: NodeGroup, controlsOf: ControlsOf, input: ReplayInput): ReplayAnswer {
  const step = src.settings.tickInterval;
  const curve = [...input.curve].sort((a, b) => a.at - b.at);
  const from = curve[0].at;
  const to = input.until ?? curve[curve.length - 1].at + step;
  const region = group.regions[0];
  const zone = src.cloud.zones.find((z) => src.cloud.regionOfZone(z) === region) ?? '';
  const g: NodeGroup = { ...group, regions: [region], state: 'active' };
  const nodes = new Map<string, ClusterNode>();
  const view: SnapshotSources['view'] = {
    groups: new Map([[g.name, g]]),
    nodes,
    launching: new Map(),
    handedOutTo: () => 0,
    load: (n) => n.connections.publishers + n.connections.subscribers,
    streamsOf: () => [],
  };
  const probe = buildSnapshot({ ...src, view }, from).groups[0];
  const roles = probe.roles.map((r) => r.role);
  const unit = new Map(probe.roles.map((r) => [r.role, r.unitCapacity || 1]));
  let seq = 0;
  const add = (role: Role, at: number, state: 'pending' | 'inservice') => {
    const address = `replay-${role}-${++seq}`;
    nodes.set(address, {
      id: seq, identifier: address, group: g.name, role, region, availabilityZone: zone, address, port: 0, state,
      launchConfig: g.launchConfig, instanceType: '', capacity: unit.get(role) ?? 1, launchTime: at, lastReport: state === 'inservice' ? at : null,
      lastTrafficTime: at, reportingSpeed: step, connections: { publishers: 0, subscribers: 0 }, cpu: null, memory: null,
      drainStartedAt: null, stateReason: null, stateUpdated: at,
    });
  };
  for (const r of probe.roles) for (let i = 0; i < (input.initial?.[r.role] ?? r.target.minLimit); i++) add(r.role, from - input.bootMs, 'inservice');

  const memory = createMemory();
  const out: ReplayAnswer = { from, to, stepMs: step, series: [], decisions: [], peak: {} };
  const cursor = new Map<Role, number>();
  let last = '';
  for (let t = from; t <= to; t += step) {
    for (const p of curve) if (p.at <= t) cursor.set(p.role, p.connections);
    const counts: Partial<Record<Role, Counts>> = {};
    const loadPct: Partial<Record<Role, number | null>> = {};
    for (const role of roles) {
      const mine = [...nodes.values()].filter((n) => n.role === role);
      for (const n of mine) {
        if (n.state === 'pending' && n.launchTime + input.bootMs <= t) n.state = 'inservice';
        if (n.state !== 'pending') n.lastReport = t;
      }
      const serving = mine.filter((n) => n.state === 'inservice');
      const total = cursor.get(role) ?? 0;
      for (const n of mine) n.connections = { publishers: 0, subscribers: 0 };
      serving.forEach((n, i) => {
        const share = Math.floor(total / serving.length) + (i < total % serving.length ? 1 : 0);
        n.connections = role === 'origin' ? { publishers: share, subscribers: 0 } : { publishers: 0, subscribers: share };
      });
      const capacity = serving.reduce((a, n) => a + n.capacity, 0);
      const pct = capacity > 0 ? Math.round((total / capacity) * 1000) / 10 : null;
      counts[role] = { inservice: serving.length, pending: mine.filter((n) => n.state === 'pending').length, draining: mine.filter((n) => n.state === 'draining').length };
      loadPct[role] = pct;
      const peak = out.peak[role];
      if (pct !== null && (!peak || peak.loadPct === null || pct > peak.loadPct)) out.peak[role] = { at: t, connections: total, capacity, loadPct: pct };
    }
    const key = JSON.stringify(counts);
    if (key !== last || t + step > to) out.series.push({ at: t, nodes: counts, loadPct });
    last = key;

    const snapshot = buildSnapshot({ ...src, view }, t);
    applySchedules(snapshot, controlsOf, t);
    observe(memory, snapshot, t);
    const results: ItemResult[] = [];
    for (const it of planSnapshot(snapshot, memory, t)) {
      out.decisions.push({ at: t, ...toDecision(it) });
      if (it.kind === 'launch') for (let i = 0; i < it.count; i++) add(it.role, t, 'pending');
      else if (it.kind === 'terminate') nodes.delete(it.address);
      else if (it.kind === 'drain' || it.kind === 'cancelDrain') {
        const n = nodes.get(it.address)!;
        n.state = it.kind === 'drain' ? 'draining' : 'inservice';
        n.drainStartedAt = it.kind === 'drain' ? t : null;
        n.stateReason = it.reason;
      }
      results.push({ item: it, ok: true, ...(it.kind === 'launch' ? { started: it.count } : {}) });
    }
    applyResults(memory, results, t, src.settings);
  }
  return out;
}
