import { makeNode } from '../support/node-fixture.ts';
import { ClusterView, type Launching } from '../../src/cluster/view.ts';
import type { ClusterNode, LaunchConfig, NodeGroup, PolicyTarget, Role, ScalePolicy } from '../../src/domain/types.ts';
import { buildSnapshot } from '../../src/autoscaler/snapshot.ts';
import { observe, createMemory, type AutoscalerMemory } from '../../src/autoscaler/memory.ts';
import { planHealth } from '../../src/autoscaler/health-planner.ts';
import { planScaleOut } from '../../src/autoscaler/scale-out-planner.ts';
import { planScaleIn } from '../../src/autoscaler/scale-in-planner.ts';
import type { AutoscalerSettings, InFlightSnap, PlanItem, Snapshot } from '../../src/autoscaler/types.ts';

/** Fixed epoch for every pure test. */
export const NOW = 1_700_000_000_000;

export const SETTINGS: AutoscalerSettings = {
  newNodePingTimeThreshold: 150_000,
  nodeStateToleranceTime: 30_000,
  deleteDeadGroupNodesOnCleanUp: true,
  replaceDeadClusters: true,
  blackListCleanUpTime: 600_000,
  drainTimeout: 600_000,
  tickInterval: 1000,
};

/** A target with everything that makes tests easy to read: no cool-down or waits unless a test sets them. */
export function target(role: Role, over: Partial<PolicyTarget> = {}): PolicyTarget {
  return { role, minLimit: 1, maxLimit: 10, scaleAdjustment: 1, coolDownPeriod: 0, estimatedWarmUpTime: 120_000, scaleInWaitTime: 0, scaleOutWaitTime: 0, ...over };
}

/** 0.0.2 flat policy (origin 1..1 unless given). */
export function flatPolicy(targets: PolicyTarget[], name = 'sp'): ScalePolicy {
  return { name, description: '', type: '', version: '0.0.2', targets: { target: targets } };
}

export function regionPolicy(regions: Record<string, PolicyTarget[]>, name = 'sp'): ScalePolicy {
  return { name, description: '', type: '', version: '0.0.3', targets: { region: Object.entries(regions).map(([n, target]) => ({ name: n, target })) } };
}

export const LAUNCH_CONFIG: LaunchConfig = {
  name: 'lc',
  description: '',
  image: 'managed',
  version: '0.0.2',
  targets: {
    target: [
      { role: 'origin', instanceType: 'standard', connectionCapacity: 100 },
      { role: 'edge', instanceType: 'standard', connectionCapacity: 100 },
      { role: 'relay', instanceType: 'standard', connectionCapacity: 100 },
      { role: 'transcoder', instanceType: 'standard', connectionCapacity: 100 },
    ],
  },
  properties: { property: [] },
  metadata: { meta: [] },
};

export function group(over: Partial<NodeGroup> = {}): NodeGroup {
  return { id: 1, name: 'g1', regions: ['us-test1'], launchConfig: 'lc', scalePolicy: 'sp', state: 'active', baseCapacity: 0, timestamp: NOW - 3_600_000, ...over };
}

let seq = 0;
/** An inservice node that reported a second ago, 100 capacity, in us-test1-a of group g1. */
export function node(address: string, over: Partial<ClusterNode> & { load?: number } = {}): ClusterNode {
  const { load, ...rest } = over;
  return makeNode(address, NOW - 1000, {
    id: ++seq,
    launchTime: NOW - 600_000,
    stateUpdated: NOW - 600_000,
    connections: { publishers: 0, subscribers: load ?? 0 },
    drainStartedAt: rest.state === 'draining' ? NOW - 10_000 : null,
    ...rest,
  });
}

export const origin = (address: string, over: Partial<ClusterNode> & { load?: number } = {}) => node(address, { role: 'origin', ...over });

export interface WorldOptions {
  groups?: NodeGroup[];
  nodes?: ClusterNode[];
  launching?: Launching[];
  policies?: ScalePolicy[];
  thresholds?: Partial<Record<Role, number>>;
  zones?: string[];
  settings?: Partial<AutoscalerSettings>;
  inFlight?: InFlightSnap[];
  /** Since when the manager observes (restart grace); default: forever. */
  observedSince?: number;
}

export interface World {
  view: ClusterView;
  catalog: { scalePolicy(n: string): ScalePolicy | null; launchConfig(n: string): LaunchConfig | null; threshold(r: Role): number };
  cloud: { zones: string[]; regionOfZone(z: string): string };
  settings: AutoscalerSettings;
  inFlight: InFlightSnap[];
  observedSince?: number;
}

/** Default: group g1 (active, us-test1), policy origin 1..1 + edge 1..10, threshold 60 for every role. */
export function world(o: WorldOptions = {}): World {
  const view = new ClusterView();
  for (const g of o.groups ?? [group()]) view.setGroup(g);
  for (const n of o.nodes ?? []) view.setNode(n);
  for (const l of o.launching ?? []) view.launching.set(l.identifier, l);
  const policies = new Map((o.policies ?? [flatPolicy([target('origin', { maxLimit: 1 }), target('edge')])]).map((p) => [p.name, p]));
  const zones = o.zones ?? ['us-test1-a', 'us-test1-b', 'eu-test1-a'];
  return {
    view,
    catalog: {
      scalePolicy: (n) => policies.get(n) ?? null,
      launchConfig: (n) => (n === 'lc' ? LAUNCH_CONFIG : null),
      threshold: (r) => o.thresholds?.[r] ?? 60,
    },
    cloud: { zones, regionOfZone: (z) => z.slice(0, z.lastIndexOf('-')) },
    settings: { ...SETTINGS, ...o.settings },
    inFlight: o.inFlight ?? [],
    observedSince: o.observedSince,
  };
}

export function snapshot(w: World, now = NOW): Snapshot {
  return buildSnapshot({ view: w.view, catalog: w.catalog, cloud: w.cloud, settings: w.settings, inFlight: w.inFlight, observedSince: w.observedSince }, now);
}

export interface Planned {
  health: PlanItem[];
  out: PlanItem[];
  in: PlanItem[];
  all: PlanItem[];
  memory: AutoscalerMemory;
}

/** One planning tick as runOnce does it: snapshot, observe, then every planner. */
export function plan(w: World, memory: AutoscalerMemory = createMemory(), now = NOW): Planned {
  const s = snapshot(w, now);
  observe(memory, s, now);
  const health = planHealth(s, memory, now);
  const inn = planScaleIn(s, memory, now);
  const out = planScaleOut(s, memory, now);
  return { health, out, in: inn, all: [...health, ...inn, ...out], memory };
}

/** Launch items → total nodes launched. */
export const launched = (items: PlanItem[]) => items.reduce((n, i) => n + (i.kind === 'launch' ? i.count : 0), 0);
export const ofKind = <K extends PlanItem['kind']>(items: PlanItem[], kind: K) => items.filter((i): i is Extract<PlanItem, { kind: K }> => i.kind === kind);
