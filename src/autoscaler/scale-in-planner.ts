import { estimateRole, groupMode, isDead, roleData, round1, SCALE_IN_REASON, subscriberCapacity } from './estimator.ts';
import type { AutoscalerMemory } from './memory.ts';
import type { GroupSnapshot, NodeSnap, PlanItem, Snapshot } from './types.ts';

/**
 * Removes capacity without dropping viewers. Pure.
 *
 * Ending drains (any draining node of a group that is not being deleted: scale-in or sunset):
 * - terminated (cloud reason `scale-in`: the host is healthy) once a report received after the drain
 *   started shows 0 connections and the broker handed out no client since — a report from before the
 *   drain could miss clients that arrived in between;
 * - or once instancecontroller.drainTimeout has passed since drainStartedAt, clients or not (the bound
 *   on a drain). Never earlier with clients on it. Dead draining nodes are the health planner's.
 *
 * Scale-in, per (group, region, role), one node at a time:
 * - no node of the role is already draining for scale-in, and none is pending or launching;
 * - count > minLimit (count as in the scale-out planner);
 * - the load would stay < threshold/2 without the least-loaded inservice node (ties: the newest), for
 *   scaleInWaitTime without a break — half the threshold leaves room so scale-in does not provoke the
 *   next scale-out;
 * - for the role serving subscribers (edges; origins in a group without edges), the group's inservice
 *   subscriber capacity after removal stays ≥ baseCapacity;
 * - outside the cool-down: coolDownPeriod since the last scale-out or scale-in of the key;
 * - origins with live publishers are never chosen.
 * The node is drained (reason prefixed `scale-in`, so a surge may cancel the drain).
 */
export function planScaleIn(snapshot: Snapshot, memory: AutoscalerMemory, now: number): PlanItem[] {
  const out: PlanItem[] = [];
  for (const g of snapshot.groups) {
    if (g.state === 'deleting') continue;
    const mode = groupMode(g, snapshot.settings, now, memory.shutDown.has(g.name));
    if (mode === 'shutdown') continue; // the health planner ends every node
    planDrainEnds(g, snapshot, now, out);
    if (mode === 'running' && g.policyFound) planRoles(g, snapshot, memory, now, out);
  }
  return out;
}

function planDrainEnds(g: GroupSnapshot, snapshot: Snapshot, now: number, out: PlanItem[]) {
  const s = snapshot.settings;
  for (const n of g.nodes) {
    if (n.state !== 'draining' || isDead(n, s, now)) continue;
    const started = n.drainStartedAt ?? n.stateUpdated;
    const drainedMs = now - started;
    const data = { region: n.region, drainStartedAt: started, drainedMs, drainTimeout: s.drainTimeout, connections: n.load - n.handedOut, handedOut: n.handedOut, lastReport: n.lastReport, drainReason: n.stateReason };
    // The empty report must be newer than the drain and than this manager's own observation (restart grace).
    if (n.load === 0 && n.freshReport && n.lastReport !== null && n.lastReport >= started) {
      out.push(end(n, 'drain-empty', `Drained: no connections left after ${drainedMs} ms (${n.stateReason ?? 'drain'}).`, data));
    } else if (drainedMs >= s.drainTimeout) {
      out.push(end(n, 'drain-timeout', `Drain timeout: ${n.load} client(s) still connected after ${drainedMs} ms (drainTimeout ${s.drainTimeout} ms); terminating anyway.`, data));
    }
  }
}

function end(n: NodeSnap, rule: 'drain-empty' | 'drain-timeout', reason: string, data: Record<string, unknown>): PlanItem {
  return { kind: 'terminate', group: n.group, role: n.role, address: n.address, rule, eventKind: 'terminate', cloudReason: 'scale-in', keepRow: false, reason, data };
}

function planRoles(g: GroupSnapshot, snapshot: Snapshot, m: AutoscalerMemory, now: number, out: PlanItem[]) {
  const s = snapshot.settings;
  // A copy: the running capacity drops with every drain planned on the floored role in this tick, so
  // per-region entries of the same role cannot together take the group below baseCapacity.
  const sub = { ...subscriberCapacity(g, s, now) };
  for (const r of g.roles) {
    const e = estimateRole(r, s, now);
    const t = r.target;
    const c = e.candidate;
    if (!c || !e.low || e.scaleInDraining > 0 || e.pending + e.inFlight > 0 || e.count <= t.minLimit) continue;
    const last = Math.max(m.lastScaleOut.get(r.key) ?? -Infinity, m.lastScaleIn.get(r.key) ?? -Infinity);
    const coolDownLeftMs = Math.max(0, last + t.coolDownPeriod - now);
    if (coolDownLeftMs > 0) continue;
    const lowForMs = now - (m.lowSince.get(r.key) ?? now);
    if (lowForMs < t.scaleInWaitTime) continue;
    const floored = r.role === sub.role;
    if (floored && sub.capacity - c.capacity < g.baseCapacity) continue;
    const half = r.threshold / 2;
    out.push({
      kind: 'drain',
      group: g.name,
      role: r.role,
      key: r.key,
      address: c.address,
      rule: 'scale-in',
      reason: `${SCALE_IN_REASON}: ${r.role} load ${round1(e.loadPct)}% would be ${round1(e.loadWithoutCandidatePct!)}% without ${c.address} (< ${half}%, half the threshold) for ${lowForMs} ms; draining the least-loaded ${r.role}.`,
      data: roleData(r, e, {
        loadWithoutPct: round1(e.loadWithoutCandidatePct!),
        halfThreshold: half,
        nodeLoad: c.load,
        nodeCapacity: c.capacity,
        lowForMs,
        scaleInWaitTime: t.scaleInWaitTime,
        coolDownLeftMs,
        baseCapacity: g.baseCapacity,
        subscriberCapacityAfter: floored ? sub.capacity - c.capacity : null,
      }),
    });
    if (floored) sub.capacity -= c.capacity;
  }
}
