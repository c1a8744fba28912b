import type { Role } from '../domain/types.ts';
import type { AutoscalerSettings, GroupSnapshot, NodeSnap, RoleSnapshot } from './types.ts';

/**
 * What each (group, region, role) has and needs. Pure arithmetic over a snapshot, shared by every planner
 * so that health, scale-out and scale-in agree on which nodes count.
 *
 * Counting rules (design §6):
 * - load% = Σ load of inservice nodes / Σ their capacity × 100, where a node's load is its reported
 *   connections plus clients the broker handed out since (a surge shows before the next report);
 *   no capacity and no connections is 0 %.
 * - "count" (what minLimit/maxLimit compare with) = inservice + pending + launching; draining, dead and
 *   failed nodes do not count, so sunset and dead nodes are replaced through minLimit.
 * - capacity "on its way" = pending nodes and launches in flight, until they report or become failed
 *   launches (newNodePingTimeThreshold): a node that boots slower than `estimatedWarmUpTime` must not get
 *   a twin for the same surge. `estimatedWarmUpTime` keeps its classic meaning (how long a new node's
 *   load is ignored before it is trusted), not a limit on counting what is on its way.
 */

/** Stateless prefix of every drain the autoscaler starts: only those are cancelled on a new surge (a sunset is an operator's verdict). */
export const SCALE_IN_REASON = 'scale-in';

export const keyOf = (group: string, region: string, role: Role) => `${group}\u0000${region}\u0000${role}`;
export const groupOfKey = (key: string) => key.slice(0, key.indexOf('\u0000'));

/** Percent with the "nothing is 0 %" rule; connections without capacity are an infinite overload. */
export function pct(connections: number, capacity: number): number {
  if (capacity > 0) return (connections / capacity) * 100;
  return connections > 0 ? Number.POSITIVE_INFINITY : 0;
}

/** For data fields: one decimal, and JSON-safe. */
export const round1 = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);

/**
 * Fewest nodes of `unitCapacity` that bring `connections / capacity` to at most `threshold` percent.
 * Integer arithmetic on the cross-multiplied inequality avoids float edge cases at exactly the threshold.
 */
export function nodesNeeded(connections: number, capacity: number, unitCapacity: number, threshold: number): number {
  const excess = connections * 100 - threshold * capacity;
  if (excess <= 0) return 0;
  // A role whose launch config has no capacity: one node at a time, the next tick re-measures.
  if (unitCapacity <= 0 || threshold <= 0) return 1;
  return Math.ceil(excess / (threshold * unitCapacity));
}

/** Launched but never reported within newNodePingTimeThreshold (counted from observedSince at the earliest). */
export function isFailedLaunch(n: NodeSnap, s: AutoscalerSettings, now: number): boolean {
  return n.state === 'pending' && n.lastReport === null && n.pendingSince + s.newNodePingTimeThreshold < now;
}

/** Reported once, then silent for longer than nodeStateToleranceTime (counted from observedSince at the earliest). */
export function isDead(n: NodeSnap, s: AutoscalerSettings, now: number): boolean {
  if (n.state !== 'inservice' && n.state !== 'draining') return false;
  return n.silentSince + s.nodeStateToleranceTime < now;
}

/**
 * Dead or failed by its stored evidence alone, but not yet on this manager's own observation: the
 * restart/leadership grace is what keeps it (reported once per episode as `restart grace`).
 */
export function inGrace(n: NodeSnap, s: AutoscalerSettings, now: number): boolean {
  if (n.state === 'pending') return n.lastReport === null && n.launchTime + s.newNodePingTimeThreshold < now && !isFailedLaunch(n, s, now);
  if (n.state !== 'inservice' && n.state !== 'draining') return false;
  return (n.lastReport ?? n.stateUpdated) + s.nodeStateToleranceTime < now && !isDead(n, s, now);
}

/** Counted for minLimit/maxLimit. */
export function isCounted(n: NodeSnap, s: AutoscalerSettings, now: number): boolean {
  return (n.state === 'inservice' && !isDead(n, s, now)) || (n.state === 'pending' && !isFailedLaunch(n, s, now));
}

export const isScaleInDrain = (n: NodeSnap) => n.state === 'draining' && (n.stateReason ?? '').startsWith(SCALE_IN_REASON);

/** Origins carrying live streams are never scaled in: their publishers would drop. */
export const carriesStreams = (n: NodeSnap) => n.role === 'origin' && n.publishers > 0;

export interface RoleEstimate {
  inservice: number;
  pending: number;
  inFlight: number;
  draining: number;
  /** Of `draining`, drains the autoscaler started (cancellable). */
  scaleInDraining: number;
  dead: number;
  failed: number;
  /** inservice + pending + inFlight. */
  count: number;
  connections: number;
  capacity: number;
  capacityOnTheWay: number;
  loadPct: number;
  projectedPct: number;
  /** Nodes to launch so that projected load ≤ threshold (0 when it already is). */
  needed: number;
  /** Drains that a surge may cancel, most clients first (they still hold connections worth keeping). */
  cancellable: NodeSnap[];
  /** Least-loaded inservice node (ties: newest); never an origin with streams. */
  candidate: NodeSnap | null;
  /** Load% of the remaining inservice nodes if `candidate` left (its clients move to them). */
  loadWithoutCandidatePct: number | null;
  /** load% > threshold. */
  breach: boolean;
  /** A candidate exists, every inservice node reported since observedSince, and the load would stay under threshold/2 without the candidate. */
  low: boolean;
}

// Planners and memory each estimate the same role in one tick: cache per snapshot object.
const cache = new WeakMap<RoleSnapshot, { now: number; s: AutoscalerSettings; e: RoleEstimate }>();

export function estimateRole(r: RoleSnapshot, s: AutoscalerSettings, now: number): RoleEstimate {
  const hit = cache.get(r);
  if (hit && hit.now === now && hit.s === s) return hit.e;
  let inservice = 0, pending = 0, draining = 0, scaleInDraining = 0, dead = 0, failed = 0;
  let connections = 0, capacity = 0, onTheWay = 0, stale = 0;
  const cancellable: NodeSnap[] = [];
  let candidate: NodeSnap | null = null;
  for (const n of r.nodes) {
    if (isFailedLaunch(n, s, now)) failed++;
    else if (isDead(n, s, now)) dead++;
    else if (n.state === 'inservice') {
      inservice++;
      connections += n.load;
      capacity += n.capacity;
      if (!n.freshReport) stale++;
      if (!carriesStreams(n) && (!candidate || n.load < candidate.load || (n.load === candidate.load && n.launchTime > candidate.launchTime))) candidate = n;
    } else if (n.state === 'pending') {
      pending++;
      onTheWay += n.capacity;
    } else if (n.state === 'draining') {
      draining++;
      if (isScaleInDrain(n)) {
        scaleInDraining++;
        cancellable.push(n);
      }
    }
  }
  onTheWay += r.inFlight.length * r.unitCapacity;
  cancellable.sort((a, b) => b.load - a.load || b.capacity - a.capacity);
  const inFlight = r.inFlight.length;
  const loadPct = pct(connections, capacity);
  const loadWithoutCandidatePct = candidate ? pct(connections, capacity - candidate.capacity) : null;
  const e: RoleEstimate = {
    inservice,
    pending,
    inFlight,
    draining,
    scaleInDraining,
    dead,
    failed,
    count: inservice + pending + inFlight,
    connections,
    capacity,
    capacityOnTheWay: onTheWay,
    loadPct,
    projectedPct: pct(connections, capacity + onTheWay),
    needed: nodesNeeded(connections, capacity + onTheWay, r.unitCapacity, r.threshold),
    cancellable,
    candidate,
    loadWithoutCandidatePct,
    breach: loadPct > r.threshold,
    // Idle is judged on loads reported to this manager only (restart grace: scale-in waits for fresh reports).
    low: stale === 0 && loadWithoutCandidatePct !== null && loadWithoutCandidatePct < r.threshold / 2,
  };
  cache.set(r, { now, s, e });
  return e;
}

export type GroupMode = 'running' | 'idle' | 'shutdown';

/**
 * - `shutdown`: an origin died, no other origin is alive and replaceDeadClusters=false: the health
 *   planner ends the cluster; nothing is launched.
 * - `idle`: nothing alive and nothing launching: a new group waits for the operator's first origin
 *   (classic: launching the first origin brings up every minLimit), and a shut-down cluster stays down.
 *   An `active` group that lost every node is replaced when replaceDeadClusters=true.
 * - `running`: the scaling rules apply.
 */
export function groupMode(g: GroupSnapshot, s: AutoscalerSettings, now: number, shutDown = false): GroupMode {
  let alive = g.inFlight.length;
  let liveOrigins = 0;
  let deadOrigins = 0;
  for (const l of g.inFlight) if (l.role === 'origin') liveOrigins++;
  for (const n of g.nodes) {
    const live = isCounted(n, s, now) || (n.state === 'draining' && !isDead(n, s, now));
    if (live) alive++;
    if (n.role !== 'origin') continue;
    if (live) liveOrigins++;
    else if (isDead(n, s, now)) deadOrigins++;
  }
  // `shutDown` (memory): this manager already shut the cluster down; stragglers (launches that were in
  // flight) are ended too instead of growing the group back without its origin.
  if (liveOrigins === 0 && (deadOrigins > 0 || shutDown) && !s.replaceDeadClusters) return 'shutdown';
  if (alive === 0) return g.state === 'active' && s.replaceDeadClusters ? 'running' : 'idle';
  return 'running';
}

/**
 * Subscriber capacity the group keeps (for the baseCapacity floor): inservice edges, or origins when the
 * group has no edges (subscribers are then served by origins, design §7).
 */
export function subscriberCapacity(g: GroupSnapshot, s: AutoscalerSettings, now: number): { role: Role; capacity: number } {
  const hasEdges = g.nodes.some((n) => n.role === 'edge') || g.roles.some((r) => r.role === 'edge' && r.target.maxLimit > 0);
  const role: Role = hasEdges ? 'edge' : 'origin';
  let capacity = 0;
  for (const n of g.nodes) if (n.role === role && n.state === 'inservice' && !isDead(n, s, now)) capacity += n.capacity;
  return { role, capacity };
}

/** The numbers every decision about a role carries. */
export function roleData(r: RoleSnapshot, e: RoleEstimate, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    region: r.region,
    loadPct: round1(e.loadPct),
    projectedPct: round1(e.projectedPct),
    threshold: r.threshold,
    connections: e.connections,
    capacity: e.capacity,
    capacityOnTheWay: e.capacityOnTheWay,
    inservice: e.inservice,
    pending: e.pending,
    launching: e.inFlight,
    draining: e.draining,
    dead: e.dead + e.failed,
    count: e.count,
    minLimit: r.target.minLimit,
    maxLimit: r.target.maxLimit,
    scaleAdjustment: r.target.scaleAdjustment,
    ...extra,
  };
}
