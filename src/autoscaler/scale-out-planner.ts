import { estimateRole, groupMode, nodesNeeded, pct, roleData, round1, type RoleEstimate } from './estimator.ts';
import { avoidedZones, poolBackoffLeft, TARGET_NOTE, ZONES_NOTE, type AutoscalerMemory } from './memory.ts';
import type { GroupSnapshot, LaunchItem, PlanItem, RoleSnapshot, Snapshot } from './types.ts';

/**
 * Adds capacity: the minLimit floor and the scale-out alarm. Pure. Per (group, region, role) with a policy
 * target, in groups that are running (see groupMode):
 *
 * 1. minLimit: count (inservice + pending + launching; draining/dead/failed excluded) below minLimit →
 *    add the difference at once: no cool-down, no wait. This is how failed launches, dead nodes and
 *    sunset nodes are replaced (event kind `replace` while there is something being replaced).
 * 2. scale-out alarm: load% > threshold(role), continuously for scaleOutWaitTime, outside the cool-down
 *    (coolDownPeriod since the last scale-out of the key), and the projected load — counting pending
 *    nodes and launches as capacity on its way until they report or fail (newNodePingTimeThreshold) — still > threshold
 *    (so a surge never gets a second launch). Adds max(scaleAdjustment, nodes needed to bring the projected
 *    load to ≤ threshold): scaleAdjustment is the operator's minimum step, and a big surge gets all it
 *    needs in one decision instead of one node per cool-down.
 * Both are capped at maxLimit. Capacity comes first from cancelling the autoscaler's own scale-in drains
 * (no boot time, no pool host; sunset drains are never undone), then from launches. Launches are
 * withheld during a pool-exhausted back-off and when every zone of the region is backed off.
 */
export function planScaleOut(snapshot: Snapshot, memory: AutoscalerMemory, now: number): PlanItem[] {
  const out: PlanItem[] = [];
  const avoid = avoidedZones(memory, now);
  for (const g of snapshot.groups) {
    if (g.state === 'deleting' || !g.policyFound) continue;
    if (groupMode(g, snapshot.settings, now, memory.shutDown.has(g.name)) !== 'running') continue;
    for (const r of g.roles) planRole(g, r, estimateRole(r, snapshot.settings, now), memory, avoid, now, out);
  }
  return out;
}

function planRole(g: GroupSnapshot, r: RoleSnapshot, e: RoleEstimate, m: AutoscalerMemory, avoid: Set<string>, now: number, out: PlanItem[]) {
  const t = r.target;
  const T = r.threshold;
  const last = m.lastScaleOut.get(r.key);
  const coolDownLeftMs = last === undefined ? 0 : Math.max(0, last + t.coolDownPeriod - now);
  const breachForMs = e.breach ? now - (m.breachSince.get(r.key) ?? now) : 0;
  const alarm = e.breach && e.projectedPct > T && coolDownLeftMs === 0 && breachForMs >= t.scaleOutWaitTime;
  const numbers = (extra: Record<string, unknown> = {}) => roleData(r, e, { coolDownLeftMs, breachForMs, scaleOutWaitTime: t.scaleOutWaitTime, ...extra });
  if (e.count >= t.minLimit && !alarm) return;

  // Cancel our own drains first: each brings back its capacity (and the clients still on it) at once.
  let count = e.count;
  let conns = e.connections;
  let cap = e.capacity + e.capacityOnTheWay;
  const cancels = [];
  for (const d of e.cancellable) {
    if (count >= t.maxLimit) break;
    if (count >= t.minLimit && !(alarm && pct(conns, cap) > T)) break;
    cancels.push(d);
    count++;
    conns += d.load;
    cap += d.capacity;
  }
  const forMin = Math.max(0, t.minLimit - count);
  const needed = alarm ? nodesNeeded(conns, cap, r.unitCapacity, T) : 0;
  const forLoad = needed > 0 ? Math.max(needed, t.scaleAdjustment - cancels.length) : 0;
  const room = Math.max(0, t.maxLimit - count);
  const wanted = Math.max(forMin, forLoad);
  // Named by what drove the decision before any drain was cancelled: the floor, or the alarm.
  const minGap = t.minLimit - e.count;
  const rule = minGap > 0 && minGap >= (alarm ? Math.max(e.needed, t.scaleAdjustment) : 0) ? 'min-limit' : 'scale-out';
  const why =
    rule === 'min-limit'
      ? `${r.role} count ${e.count} (inservice ${e.inservice}, pending ${e.pending}, launching ${e.inFlight}) is below minLimit ${t.minLimit}`
      : `${r.role} load ${round1(e.loadPct)}% > threshold ${T}% for ${breachForMs} ms; projected with ${e.capacityOnTheWay} capacity on its way: ${round1(e.projectedPct)}%`;

  for (const d of cancels) {
    out.push({
      kind: 'cancelDrain',
      group: g.name,
      role: r.role,
      key: r.key,
      address: d.address,
      rule,
      reason: `Scale-in drain cancelled: ${why} (cheaper than a launch).`,
      data: numbers({ nodeLoad: d.load, nodeCapacity: d.capacity }),
    });
  }

  const launch = Math.min(wanted, room);
  if (forLoad > 0 && launch < forLoad && m.notes.get(r.key) !== 'max-limit') {
    out.push({
      kind: 'event',
      eventKind: 'refused',
      rule: 'max-limit',
      group: g.name,
      role: r.role,
      node: null,
      note: { key: r.key, value: 'max-limit' },
      reason: `Scale-out limited by maxLimit ${t.maxLimit}: ${why}; wanted ${forLoad} more ${r.role}(s), room for ${launch}.`,
      data: numbers({ wanted: forLoad, room }),
    });
  }
  if (launch <= 0) return;

  if (r.instanceType === null) {
    // The launch config has no target for the role: every launch would fail the same way.
    if (m.notes.get(r.key + TARGET_NOTE) !== 'missing') {
      out.push({
        kind: 'event',
        eventKind: 'refused',
        rule: 'no-launch-target',
        group: g.name,
        role: r.role,
        node: null,
        note: { key: r.key + TARGET_NOTE, value: 'missing' },
        reason: `Cannot launch ${launch} ${r.role}(s): launch configuration ${g.launchConfig} has no ${r.role} target (or does not exist); fix it with PUT /admin/configurations/launchconfig/${g.launchConfig}.`,
        data: numbers({ wanted: launch, launchConfig: g.launchConfig }),
      });
    }
    return;
  }
  const backoffLeftMs = poolBackoffLeft(m, r.key, now);
  if (backoffLeftMs > 0) return; // the refused/backoff event of this window already says what is missing
  const avoidZones = r.zones.filter((z) => avoid.has(z));
  // No usable zone: NodeOps would fail (and record a failure) on every tick; say it once and wait.
  if (avoidZones.length === r.zones.length) {
    const value = r.zones.length ? 'all-avoided' : 'none';
    if (m.notes.get(r.key + ZONES_NOTE) !== value) {
      out.push({
        kind: 'event',
        eventKind: 'refused',
        rule: 'no-zone',
        group: g.name,
        role: r.role,
        node: null,
        note: { key: r.key + ZONES_NOTE, value },
        reason: r.zones.length
          ? `Cannot launch ${launch} ${r.role}(s) in ${r.region}: every zone (${r.zones.join(', ')}) is backed off after repeated launch failures.`
          : `Cannot launch ${launch} ${r.role}(s) in ${r.region}: the cloud has no availability zone in that region (check managed.regionNames / managed.availabilityZoneNames).`,
        data: numbers({ wanted: launch, avoidZones }),
      });
    }
    return;
  }

  const base = { kind: 'launch' as const, group: g.name, role: r.role, region: r.region, key: r.key, avoidZones, zones: r.zones, instanceType: r.instanceType };
  if (rule === 'scale-out') {
    out.push({
      ...base,
      rule,
      count: launch,
      eventKind: 'launch',
      reason: `Scale-out: ${why}; launching ${launch} to bring it to ≤ ${T}%.`,
      data: numbers({ needed, launch, cancelledDrains: cancels.length }),
    });
    return;
  }
  // Something is being replaced (failed launch, dead or sunset node): say so with kind `replace`.
  const replacing = Math.min(launch, e.dead + e.failed + (e.draining - e.scaleInDraining));
  const origin = r.role === 'origin' && e.inservice + e.pending + e.inFlight === 0 ? ' (replaceDeadClusters=true)' : '';
  const items: LaunchItem[] = [];
  if (replacing > 0) {
    items.push({ ...base, rule, count: replacing, eventKind: 'replace', reason: `Replacement: ${why}; launching ${replacing} to replace failed, dead or sunset nodes${origin}.`, data: numbers({ launch: replacing, cancelledDrains: cancels.length }) });
  }
  if (launch - replacing > 0) {
    items.push({ ...base, rule, count: launch - replacing, eventKind: 'launch', reason: `Minimum: ${why}; launching ${launch - replacing}.`, data: numbers({ launch: launch - replacing, cancelledDrains: cancels.length }) });
  }
  out.push(...items);
}
