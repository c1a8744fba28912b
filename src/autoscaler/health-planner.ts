import { groupMode, inGrace, isCounted, isDead, isFailedLaunch } from './estimator.ts';
import type { AutoscalerMemory } from './memory.ts';
import type { GroupSnapshot, NodeSnap, PlanItem, Snapshot, TerminateItem } from './types.ts';

/**
 * Failed launches, dead nodes and dead clusters (design §6). Pure.
 *
 * - pending without a report newNodePingTimeThreshold after launch → failed launch, terminated
 *   (`dead`, cloud reason `failed`); the scale-out planner replaces it through minLimit in the same tick.
 * - inservice/draining silent for nodeStateToleranceTime → dead, terminated; the row is kept as
 *   `terminated` when deleteDeadGroupNodesOnCleanUp=false. (Nodes that merely missed two reports already
 *   get no clients: the broker checks that, no action here.)
 * - a dead origin with no other origin alive: replaceDeadClusters=true → the origin minLimit rule launches a
 *   replacement (kind `replace`, scale-out planner); false → every other node of the group is terminated
 *   too, with one event saying why (the cluster is shut down and stays down until an operator launches an origin).
 * - a node stuck in `terminating` (a manager died half-way) is terminated again.
 * Every clock above starts at snapshot.observedSince at the earliest (restart and leadership grace): a
 * node whose stored evidence alone would make it dead or failed gets its full period on this manager's
 * clock; one `grace` event per group and episode names those nodes.
 */
export function planHealth(snapshot: Snapshot, memory: AutoscalerMemory, now: number): PlanItem[] {
  const out: PlanItem[] = [];
  for (const g of snapshot.groups) if (g.state !== 'deleting') planGroup(g, snapshot, memory, now, out);
  return out;
}

function planGroup(g: GroupSnapshot, snapshot: Snapshot, memory: AutoscalerMemory, now: number, out: PlanItem[]) {
  const s = snapshot.settings;
  const keepRow = !s.deleteDeadGroupNodesOnCleanUp;
  const mode = groupMode(g, s, now, memory.shutDown.has(g.name));
  const originAlive = g.inFlight.some((l) => l.role === 'origin') || g.nodes.some((n) => n.role === 'origin' && (isCounted(n, s, now) || (n.state === 'draining' && !isDead(n, s, now))));
  const deadOrigins: string[] = [];
  const graced: NodeSnap[] = [];

  for (const n of g.nodes) {
    if (inGrace(n, s, now)) graced.push(n);
    if (isFailedLaunch(n, s, now)) {
      const since = n.pendingSince > n.launchTime ? `this manager began observing ${now - n.pendingSince} ms ago` : `launched ${now - n.launchTime} ms ago`;
      out.push(
        terminate(n, 'failed-launch', 'dead', 'failed', keepRow, `Failed launch: no report within ${s.newNodePingTimeThreshold} ms of the launch (${since}); it is replaced through the scale policy.`, {
          launchTime: n.launchTime,
          sinceLaunchMs: now - n.launchTime,
          observedSince: Number.isFinite(snapshot.observedSince) ? snapshot.observedSince : null,
          newNodePingTimeThreshold: s.newNodePingTimeThreshold,
          keepRow,
        }),
      );
    } else if (isDead(n, s, now)) {
      const silent = now - n.silentSince;
      let then = 'it is replaced when the group falls below its minLimit.';
      if (n.role === 'origin') {
        deadOrigins.push(n.address);
        if (!originAlive) then = s.replaceDeadClusters ? 'no other origin is alive: a replacement origin is launched (replaceDeadClusters=true).' : 'no other origin is alive and replaceDeadClusters=false: the cluster is shut down.';
        else then = 'its edges and relays are re-linked to the other origins.';
      }
      out.push(
        terminate(n, 'dead', 'dead', 'failed', keepRow, `Dead ${n.role}: no report for ${silent} ms (nodeStateToleranceTime ${s.nodeStateToleranceTime} ms); ${then}`, {
          lastReport: n.lastReport,
          silentMs: silent,
          observedSince: Number.isFinite(snapshot.observedSince) ? snapshot.observedSince : null,
          nodeStateToleranceTime: s.nodeStateToleranceTime,
          wasState: n.state,
          keepRow,
          deleteDeadGroupNodesOnCleanUp: s.deleteDeadGroupNodesOnCleanUp,
        }),
      );
    } else if (n.state === 'terminating' && Math.max(n.stateUpdated, snapshot.observedSince) + s.nodeStateToleranceTime < now) {
      const failed = /^(dead|failed)/i.test(n.stateReason ?? '');
      out.push(
        terminate(n, 'stuck-terminating', 'terminate', failed ? 'failed' : 'scale-in', false, `Node stuck in terminating for ${now - n.stateUpdated} ms (was: ${n.stateReason ?? 'unknown'}); terminating again.`, {
          stateUpdated: n.stateUpdated,
        }),
      );
    }
  }

  const note = `${g.name}\u0000grace`;
  if (graced.length && memory.notes.get(note) !== String(snapshot.observedSince)) {
    out.push({
      kind: 'event',
      eventKind: 'grace',
      rule: 'restart-grace',
      group: g.name,
      role: null,
      node: null,
      note: { key: note, value: String(snapshot.observedSince) },
      reason: `Restart grace: ${graced.length} node(s) (${graced.map((n) => n.address).join(', ')}) look silent by the stored reports, but this manager began observing ${now - snapshot.observedSince} ms ago; each gets nodeStateToleranceTime ${s.nodeStateToleranceTime} ms (pending: newNodePingTimeThreshold ${s.newNodePingTimeThreshold} ms) from then to report.`,
      data: {
        observedSince: snapshot.observedSince,
        nodes: graced.map((n) => ({ address: n.address, state: n.state, lastReport: n.lastReport, graceEndsAt: (n.state === 'pending' ? n.pendingSince + s.newNodePingTimeThreshold : n.silentSince + s.nodeStateToleranceTime) })),
      },
    });
  }

  if (mode !== 'shutdown') return;
  const rest = g.nodes.filter((n) => n.role !== 'origin' && (isCounted(n, s, now) || (n.state === 'draining' && !isDead(n, s, now))));
  if (!deadOrigins.length) {
    // Already shut down on an earlier tick: launches that were in flight then are ended now.
    for (const n of rest) out.push(terminate(n, 'cluster-shutdown', 'terminate', 'scale-in', false, 'The cluster was shut down (its origin died, replaceDeadClusters=false); this node arrived afterwards.', {}));
    return;
  }
  const why = `Cluster shut down: origin ${deadOrigins.join(', ')} died, no other origin is alive and replaceDeadClusters=false`;
  out.push({
    kind: 'event',
    eventKind: 'terminate',
    rule: 'cluster-shutdown',
    group: g.name,
    role: 'origin',
    node: deadOrigins[0] ?? null,
    reason: `${why}; terminating its ${rest.length} other node(s). Launch a new origin to restart the group.`,
    data: { deadOrigins, terminating: rest.map((n) => n.address), replaceDeadClusters: false },
  });
  // Healthy hosts go back to the pool (cloud reason scale-in). Launches still in flight finish and are
  // ended on a later tick (memory.shutDown keeps the group down).
  for (const n of rest) out.push(terminate(n, 'cluster-shutdown', 'terminate', 'scale-in', false, `${why}.`, { deadOrigins }));
}

function terminate(
  n: NodeSnap,
  rule: TerminateItem['rule'],
  eventKind: TerminateItem['eventKind'],
  cloudReason: TerminateItem['cloudReason'],
  keepRow: boolean,
  reason: string,
  data: Record<string, unknown>,
): TerminateItem {
  return { kind: 'terminate', group: n.group, role: n.role, address: n.address, rule, eventKind, cloudReason, keepRow, reason, data: { region: n.region, zone: n.zone, ...data } };
}
