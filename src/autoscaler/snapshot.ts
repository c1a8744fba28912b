import type { ClusterNode, LaunchConfig, PolicyTarget, Role, ScalePolicy } from '../domain/types.ts';
import type { Config } from '../config/schema.ts';
import type { ClusterView } from '../cluster/view.ts';
import { policyTargets } from '../domain/scale-policy.ts';
import { capacityFor, instanceTypeFor } from '../domain/launch-config.ts';
import { keyOf } from './estimator.ts';
import type { AutoscalerSettings, GroupSnapshot, InFlightSnap, NodeSnap, RoleSnapshot, Snapshot } from './types.ts';

export function settingsFromConfig(config: Pick<Config, 'instancecontroller' | 'autoscaler'>): AutoscalerSettings {
  const ic = config.instancecontroller;
  return {
    newNodePingTimeThreshold: ic.newNodePingTimeThreshold,
    nodeStateToleranceTime: ic.nodeStateToleranceTime,
    deleteDeadGroupNodesOnCleanUp: ic.deleteDeadGroupNodesOnCleanUp,
    replaceDeadClusters: ic.replaceDeadClusters,
    blackListCleanUpTime: ic.blackListCleanUpTime,
    drainTimeout: ic.drainTimeout,
    tickInterval: config.autoscaler.tickInterval,
  };
}

export interface SnapshotSources {
  view: Pick<ClusterView, 'groups' | 'nodes' | 'launching' | 'handedOutTo' | 'load' | 'streamsOf'>;
  catalog: {
    scalePolicy(name: string): ScalePolicy | null | undefined;
    launchConfig(name: string): LaunchConfig | null | undefined;
    threshold(role: Role): number;
  };
  /** The cloud's zones and their regions. */
  cloud: { readonly zones: readonly string[]; regionOfZone(zone: string): string };
  settings: AutoscalerSettings;
  /**
   * Launches the actuator started and has not seen settle. Between the cloud's acknowledgement and the
   * node's row being saved a launch is in neither `view.launching` nor `view.nodes`; these entries cover
   * that gap (entries whose identifier is already visible are ignored).
   */
  inFlight?: readonly InFlightSnap[];
  /**
   * Since when this manager observes the cluster itself: its start or its last leadership gain, on its
   * own clock (default: forever). Evidence older than this (a stale last_report read from the store)
   * never makes a node dead, failed or idle: each node's clock restarts here.
   */
  observedSince?: number;
}

function toNodeSnap(n: ClusterNode, view: SnapshotSources['view'], observedSince: number): NodeSnap {
  let publishers = n.connections.publishers;
  if (n.role === 'origin') {
    // A publish event between reports is already in the view's streams: trust whichever says more.
    let live = 0;
    for (const st of view.streamsOf(n.address)) live += st.publishers;
    publishers = Math.max(publishers, live);
  }
  return {
    address: n.address,
    identifier: n.identifier,
    group: n.group,
    role: n.role,
    region: n.region,
    zone: n.availabilityZone,
    state: n.state,
    capacity: n.capacity,
    load: view.load(n),
    handedOut: view.handedOutTo(n.address),
    publishers,
    launchTime: n.launchTime,
    lastReport: n.lastReport,
    stateUpdated: n.stateUpdated,
    drainStartedAt: n.drainStartedAt,
    stateReason: n.stateReason,
    silentSince: Math.max(n.lastReport ?? n.stateUpdated, observedSince),
    pendingSince: Math.max(n.launchTime, observedSince),
    freshReport: n.lastReport !== null && n.lastReport >= observedSince,
  };
}

/**
 * Copies what the planners need out of the live view at one instant. Pure (reads only); O(nodes + groups).
 * Terminated rows (kept by deleteDeadGroupNodesOnCleanUp=false) are left out: they are history.
 */
export function buildSnapshot(src: SnapshotSources, now: number): Snapshot {
  const { view, catalog, cloud, settings } = src;
  const observedSince = src.observedSince ?? Number.NEGATIVE_INFINITY;
  const zonesByRegion = new Map<string, string[]>();
  for (const z of cloud.zones) {
    const r = cloud.regionOfZone(z);
    const list = zonesByRegion.get(r);
    if (list) list.push(z);
    else zonesByRegion.set(r, [z]);
  }
  const regionOf = (zone: string) => cloud.regionOfZone(zone);

  const nodesByGroup = new Map<string, NodeSnap[]>();
  for (const n of view.nodes.values()) {
    if (n.state === 'terminated' || !view.groups.has(n.group)) continue;
    const list = nodesByGroup.get(n.group);
    const snap = toNodeSnap(n, view, observedSince);
    if (list) list.push(snap);
    else nodesByGroup.set(n.group, [snap]);
  }
  const flightByGroup = new Map<string, InFlightSnap[]>();
  const addFlight = (f: InFlightSnap) => {
    const list = flightByGroup.get(f.group);
    if (list) list.push(f);
    else flightByGroup.set(f.group, [f]);
  };
  for (const l of view.launching.values()) {
    addFlight({ identifier: l.identifier, group: l.group, role: l.role, region: regionOf(l.zone), zone: l.zone, since: l.since });
  }
  if (src.inFlight?.length) {
    // Rarely needed (launches are in flight), so the identifier index is built only then.
    const knownIds = new Set<string>(view.launching.keys());
    for (const n of view.nodes.values()) knownIds.add(n.identifier);
    for (const f of src.inFlight) if (f.identifier === null || !knownIds.has(f.identifier)) addFlight({ ...f });
  }

  // Policies and launch configs are shared by many groups: resolve each (name, region) once per snapshot.
  const targetsCache = new Map<string, Map<Role, PolicyTarget> | null>();
  const targetsOf = (policyName: string, region: string) => {
    const k = `${policyName}\u0000${region}`;
    if (!targetsCache.has(k)) {
      const p = catalog.scalePolicy(policyName);
      targetsCache.set(k, p ? policyTargets(p, region) : null);
    }
    return targetsCache.get(k)!;
  };
  const thresholds = new Map<Role, number>();
  const thresholdOf = (role: Role) => {
    if (!thresholds.has(role)) thresholds.set(role, catalog.threshold(role));
    return thresholds.get(role)!;
  };

  const groups: GroupSnapshot[] = [];
  for (const g of view.groups.values()) {
    const nodes = nodesByGroup.get(g.name) ?? [];
    const inFlight = flightByGroup.get(g.name) ?? [];
    const lc = catalog.launchConfig(g.launchConfig) ?? null;
    const roles: RoleSnapshot[] = [];
    let policyFound = true;
    for (const region of g.regions) {
      const targets = targetsOf(g.scalePolicy, region);
      if (!targets) {
        policyFound = false;
        break;
      }
      for (const [role, target] of targets) {
        roles.push({
          key: keyOf(g.name, region, role),
          group: g.name,
          region,
          role,
          target,
          threshold: thresholdOf(role),
          unitCapacity: (lc ? capacityFor(lc, role) : null) ?? 0,
          instanceType: lc ? instanceTypeFor(lc, role) : null,
          zones: zonesByRegion.get(region) ?? [],
          nodes: nodes.filter((n) => n.role === role && n.region === region),
          inFlight: inFlight.filter((f) => f.role === role && f.region === region),
        });
      }
    }
    groups.push({
      name: g.name,
      state: g.state,
      baseCapacity: g.baseCapacity,
      regions: [...g.regions],
      launchConfig: g.launchConfig,
      scalePolicy: g.scalePolicy,
      policyFound,
      nodes,
      inFlight,
      roles: policyFound ? roles : [],
    });
  }
  return { at: now, observedSince, settings, groups };
}
