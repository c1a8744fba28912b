import type { Role, ScalePolicy } from '../domain/types.ts';
import { estimateRole } from './estimator.ts';
import { observe, type AutoscalerMemory } from './memory.ts';
import { holdPaused } from './pause.ts';
import { planSnapshot } from './run-once.ts';
import { applySchedules, type ControlsOf } from './schedules.ts';
import { buildSnapshot, type SnapshotSources } from './snapshot.ts';
import type { PlanItem, Rule } from './types.ts';

/** Hypotheticals of a dry run (POST …/nodegroup/{group}/whatif); each absent one is the live value. */
export interface WhatIf {
  /** Scale-out threshold per role, percent. */
  alarms?: Partial<Record<Role, number>>;
  /** A policy to judge the group by instead of its own (already parsed). */
  scalePolicy?: ScalePolicy;
  /** Load per role, percent of the inservice capacity: every inservice node of the role is set to it. */
  loads?: Partial<Record<Role, number>>;
}

export interface Decision {
  kind: string;
  role: Role | null;
  region: string | null;
  count: number;
  rule: Rule;
  reason: string;
  data: Record<string, unknown>;
  node?: string;
  /** The group is paused: the live autoscaler would hold this decision. */
  held?: boolean;
}

export function cloneMemory(m: AutoscalerMemory): AutoscalerMemory {
  return structuredClone(m);
}

/** One plan item as the dry run answers it, with the event kind the scale event log would show. */
export function toDecision(it: PlanItem, held = false): Decision {
  const region = 'region' in it ? (it.region as string) : typeof it.data.region === 'string' ? it.data.region : null;
  const base = { role: it.role, region, rule: it.rule, reason: it.reason, data: it.data, ...(held ? { held } : {}) };
  switch (it.kind) {
    case 'launch':
      return { kind: it.eventKind, count: it.count, ...base };
    case 'drain':
      return { kind: 'drain', count: 1, node: it.address, ...base };
    case 'cancelDrain':
      return { kind: 'drain-cancelled', count: 1, node: it.address, ...base };
    case 'terminate':
      return { kind: it.eventKind, count: 1, node: it.address, ...base };
    case 'event':
      return { kind: it.eventKind, count: 0, ...(it.node ? { node: it.node } : {}), ...base };
  }
}

/** The catalog as the planners read it, with a what-if's alarms and the group's policy swapped in. */
export function hypotheticalCatalog(catalog: SnapshotSources['catalog'], policyName: string | undefined, h: Pick<WhatIf, 'alarms' | 'scalePolicy'>): SnapshotSources['catalog'] {
  return {
    launchConfig: (n) => catalog.launchConfig(n),
    scalePolicy: (n) => (h.scalePolicy && n === policyName ? h.scalePolicy : catalog.scalePolicy(n)),
    threshold: (role) => h.alarms?.[role] ?? catalog.threshold(role),
  };
}

/**
 * The real estimator and planners on a copy of the live snapshot and of the autoscaler's memory, with the
 * hypotheticals applied: nothing is acted on, nothing recorded. A hypothetical load is taken as having held
 * for the policy's wait times (scaleOutWaitTime / scaleInWaitTime), so the answer is what the autoscaler
 * would do once it had; cool-downs and back-offs are the live ones. Pure.
 */
export function planWhatIf(
  src: Omit<SnapshotSources, 'inFlight'> & { inFlight?: SnapshotSources['inFlight'] },
  memory: AutoscalerMemory,
  controlsOf: ControlsOf,
  group: string,
  h: WhatIf,
  now: number,
): Decision[] {
  const catalog = hypotheticalCatalog(src.catalog, src.view.groups.get(group)?.scalePolicy, h);
  const snapshot = buildSnapshot({ ...src, catalog }, now);
  snapshot.groups = snapshot.groups.filter((g) => g.name === group);
  applySchedules(snapshot, controlsOf, now);
  const g = snapshot.groups[0];
  const m = cloneMemory(memory);
  if (g && h.loads) {
    for (const n of g.nodes) {
      const pct = h.loads[n.role];
      if (pct !== undefined && n.state === 'inservice') n.load = Math.round((n.capacity * pct) / 100);
    }
  }
  observe(m, snapshot, now);
  if (g && h.loads) {
    for (const r of g.roles) {
      if (h.loads[r.role] === undefined) continue;
      const e = estimateRole(r, snapshot.settings, now);
      if (e.breach) m.breachSince.set(r.key, now - r.target.scaleOutWaitTime);
      if (e.low) m.lowSince.set(r.key, now - r.target.scaleInWaitTime);
    }
  }
  const { run, held } = holdPaused(planSnapshot(snapshot, m, now), controlsOf, m);
  return [...run.map((it) => toDecision(it)), ...held.map((it) => toDecision(it, true))];
}
