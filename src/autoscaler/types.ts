import type { GroupState, NodeState, PolicyTarget, Role, ScaleEventKind } from '../domain/types.ts';
import type { TerminateReason } from '../cloud/cloud-controller.ts';

/**
 * Vocabulary of the autoscaler (design §6; models.md §7 "The seams"):
 * snapshot (what is) → estimator (what each role needs) → planners (PlanItems) → actuator (NodeOps)
 * → RunResult (fed back into AutoscalerMemory). Everything here is data: no I/O, no clock.
 */

/** The instancecontroller.* / autoscaler.* settings the planners read (all durations in ms). */
export interface AutoscalerSettings {
  /** A pending node without a report this long after its launch is a failed launch. */
  newNodePingTimeThreshold: number;
  /** An inservice/draining node without a report this long is dead. */
  nodeStateToleranceTime: number;
  /** true: dead nodes' rows are deleted; false: kept as `terminated` for post-mortems. */
  deleteDeadGroupNodesOnCleanUp: boolean;
  /** true: a group whose last origin died gets a new origin; false: the whole cluster is shut down. */
  replaceDeadClusters: boolean;
  /** How long a zone is avoided after 3 consecutive launch failures in it. */
  blackListCleanUpTime: number;
  /** A draining node is terminated after this long even with clients left. */
  drainTimeout: number;
  /** Autoscaler tick interval (sizes the pool-exhausted back-off). */
  tickInterval: number;
}

/** One node as the planners see it (a copy: planners never touch the view). */
export interface NodeSnap {
  address: string;
  identifier: string;
  group: string;
  role: Role;
  region: string;
  zone: string;
  state: NodeState;
  capacity: number;
  /** Connections of the last report plus clients handed out since (ClusterView.load). */
  load: number;
  /** Clients handed out by the broker since the last report. */
  handedOut: number;
  /** Live publishers on the node (report or publish events, whichever says more). */
  publishers: number;
  launchTime: number;
  lastReport: number | null;
  stateUpdated: number;
  drainStartedAt: number | null;
  stateReason: string | null;
  /**
   * Silence is counted from here: the last report (or state change), but never before this manager
   * began observing (Snapshot.observedSince). Restart and leadership grace: stale evidence read from the
   * store never makes a node dead.
   */
  silentSince: number;
  /** A pending node's failed-launch clock starts here: its launch, but never before observedSince. */
  pendingSince: number;
  /** The last report arrived after this manager began observing (scale-in trusts only such loads). */
  freshReport: boolean;
}

/** An instance the cloud is still launching (no address yet). */
export interface InFlightSnap {
  /** Instance identifier when known. */
  identifier: string | null;
  group: string;
  role: Role;
  region: string;
  zone: string | null;
  since: number;
}

/** One (group, region, role) the policy has a target for: the unit every scaling rule works on. */
export interface RoleSnapshot {
  /** `keyOf(group, region, role)`: memory key for cool-downs, wait times and back-offs. */
  key: string;
  group: string;
  region: string;
  role: Role;
  target: PolicyTarget;
  /** Scale-out alarm threshold of the role, percent. */
  threshold: number;
  /** Capacity of one new node of the role (launch config `connectionCapacity`; 0 when unknown). */
  unitCapacity: number;
  /** Launch config instanceType of the role (null when the launch config lacks the role). */
  instanceType: string | null;
  /** Availability zones of the region in the cloud. */
  zones: string[];
  /** Nodes of this role in this region (terminated rows excluded). */
  nodes: NodeSnap[];
  inFlight: InFlightSnap[];
}

export interface GroupSnapshot {
  name: string;
  state: GroupState;
  baseCapacity: number;
  regions: string[];
  launchConfig: string;
  scalePolicy: string;
  /** false: the policy is missing from the catalog; the group gets health checks but no scaling. */
  policyFound: boolean;
  /** Every node of the group (terminated rows excluded). */
  nodes: NodeSnap[];
  inFlight: InFlightSnap[];
  roles: RoleSnapshot[];
}

export interface Snapshot {
  at: number;
  /** Since when this manager observes the cluster itself (process start or last leadership gain, its own clock). */
  observedSince: number;
  settings: AutoscalerSettings;
  groups: GroupSnapshot[];
}

/** The rule behind a plan item; also decides what memory remembers (cool-downs start on scale-out/scale-in). */
export type Rule =
  | 'min-limit'
  | 'scale-out'
  | 'max-limit'
  | 'no-zone'
  | 'no-launch-target'
  | 'scale-in'
  | 'drain-empty'
  | 'drain-timeout'
  | 'failed-launch'
  | 'dead'
  | 'cluster-shutdown'
  | 'stuck-terminating'
  | 'restart-grace'
  | 'zone-backoff'
  | 'pool-backoff'
  | 'schedule'
  | 'paused';

interface ItemBase {
  group: string;
  rule: Rule;
  /** One sentence an operator can read (stored with the scale event). */
  reason: string;
  /** The numbers behind the decision. */
  data: Record<string, unknown>;
}

export interface LaunchItem extends ItemBase {
  kind: 'launch';
  role: Role;
  region: string;
  key: string;
  count: number;
  eventKind: 'launch' | 'replace';
  avoidZones: string[];
  /** Zones of the region (for the optional pool pre-check). */
  zones: string[];
  instanceType: string | null;
}

export interface CancelDrainItem extends ItemBase {
  kind: 'cancelDrain';
  role: Role;
  key: string;
  address: string;
}

export interface DrainItem extends ItemBase {
  kind: 'drain';
  role: Role;
  key: string;
  address: string;
}

export interface TerminateItem extends ItemBase {
  kind: 'terminate';
  role: Role;
  address: string;
  cloudReason: TerminateReason;
  eventKind: 'terminate' | 'dead';
  keepRow: boolean;
}

/** A decision NodeOps does not record itself (back-offs, limits, cluster shutdown). */
export interface EventItem extends ItemBase {
  kind: 'event';
  role: Role | null;
  eventKind: ScaleEventKind;
  node: string | null;
  /** Remember `value` under `key` so the same note is not recorded every tick. */
  note?: { key: string; value: string };
}

export type PlanItem = LaunchItem | CancelDrainItem | DrainItem | TerminateItem | EventItem;

export interface ItemResult {
  item: PlanItem;
  ok: boolean;
  error?: string;
  code?: string;
  /** Launch items: how many launches were started (they finish in the background). */
  started?: number;
  /** Launch items: the pool could not take them all (pre-check); a back-off starts. */
  short?: { wanted: number; launched: number; missing: number };
}

/** How a launch started by the actuator ended; collected between ticks and applied to memory. */
export type LaunchOutcome =
  | { type: 'launched'; key: string; group: string; role: Role; region: string; zone: string; address: string; identifier: string; at: number }
  | { type: 'failed'; key: string; group: string; role: Role; region: string; zone: string | null; code: string | null; error: string; at: number }
  | {
      /** Every launch of one LaunchItem has settled. */
      type: 'batch';
      key: string;
      group: string;
      role: Role;
      region: string;
      wanted: number;
      launched: number;
      poolExhausted: number;
      failed: number;
      /** The pre-check already recorded the shortfall (no second event). */
      shortReported: boolean;
      at: number;
    };

export interface RunResult {
  at: number;
  /** Groups in the snapshot. */
  groups: number;
  /** Items the planners produced this tick. */
  planned: number;
  results: ItemResult[];
  /** Launch outcomes settled since the previous tick. */
  outcomes: LaunchOutcome[];
  /** Set when the tick failed as a whole (nothing is thrown). */
  error?: string;
  /** The failure is expected to clear by itself (store or cloud unavailable). */
  transient?: boolean;
  /** The store did not answer: the leader gives up the lease so a manager that can reach it leads (design §6). */
  storeDown?: boolean;
}
