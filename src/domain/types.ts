/** Shared domain vocabulary. Pure types and constants: nothing here does I/O. */

export const ROLES = ['origin', 'edge', 'relay', 'transcoder'] as const;
export type Role = (typeof ROLES)[number];

/** design §6: pending → inservice → draining → terminating → terminated. */
export const NODE_STATES = ['pending', 'inservice', 'draining', 'terminating', 'terminated'] as const;
export type NodeState = (typeof NODE_STATES)[number];

export const LINK_STATES = ['prospective', 'connecting', 'established', 'disconnecting', 'disconnected', 'error'] as const;
export type LinkState = (typeof LINK_STATES)[number];

export const GROUP_STATES = ['new', 'active', 'deleting'] as const;
export type GroupState = (typeof GROUP_STATES)[number];

export interface NodeGroup {
  id: number;
  name: string;
  regions: string[];
  launchConfig: string;
  scalePolicy: string;
  state: GroupState;
  /** Minimum subscriber connections the group keeps (v1.0 `baseCapacity`); scale-in never goes below it. */
  baseCapacity: number;
  /** Epoch ms of creation. */
  timestamp: number;
}

export interface Connections {
  publishers: number;
  subscribers: number;
}

export interface ClusterNode {
  /** Store row id (assigned by the store on insert; 0 before). */
  id: number;
  /** Cloud instance name `<instanceNamePrefix>-<zone>-<epoch ms>`. */
  identifier: string;
  group: string;
  role: Role;
  region: string;
  availabilityZone: string;
  /** The node's key: the address clients and the proxy reach (an IP or host name). */
  address: string;
  /** HTTP/WebSocket port of the node (report's port, else provision's, else cluster.accessPort). */
  port: number;
  state: NodeState;
  launchConfig: string;
  instanceType: string;
  /** Connection capacity (report's `capacity`, else the launch config's for the role). */
  capacity: number;
  /** When the cloud was asked for the instance. */
  launchTime: number;
  /** Last report received (epoch ms), null before the first one. */
  lastReport: number | null;
  /** Last time connections were non-zero. */
  lastTrafficTime: number;
  /** reportingSpeed this manager last told the node (ms); "missed report" is measured against it. */
  reportingSpeed: number;
  connections: Connections;
  /** 0..1, optional in reports. */
  cpu: number | null;
  memory: number | null;
  /** When the node entered `draining` (null otherwise). */
  drainStartedAt: number | null;
  /** Why the node drains or terminates (sunset, scale-in, dead, group-delete...). */
  stateReason: string | null;
  stateUpdated: number;
}

/** One stream live on one node (from reports and publish/unpublish events). */
export interface NodeStream {
  address: string;
  /** Scope without leading slash, e.g. `live` or `live/room1`. */
  scope: string;
  name: string;
  publishers: number;
  subscribers: number;
  startTime: number;
}

export interface Relation {
  group: string;
  parent: string;
  child: string;
  state: LinkState;
  stateUpdated: number;
}

export interface Alarm {
  role: Role;
  threshold: number;
}

export const SCALE_EVENT_KINDS = [
  'launch',
  'launch-failed',
  'refused',
  'drain',
  'drain-cancelled',
  'terminate',
  'replace',
  'dead',
  'relink',
  'backoff',
  'group-deleted',
  'schedule',
  'paused',
  'grace',
  'reconciled',
  'released',
] as const;
export type ScaleEventKind = (typeof SCALE_EVENT_KINDS)[number];

export interface ScaleEvent {
  id?: number;
  group: string;
  at: number;
  kind: ScaleEventKind;
  role: Role | null;
  /** Node address or instance identifier concerned, if any. */
  node: string | null;
  /** One sentence an operator can read. */
  reason: string;
  /** The numbers behind the decision (load, threshold, counts, cool-down left...). */
  data: Record<string, unknown>;
}

/** Stream provision (classic `/admin/event/meta/{scope}/{stream}`). */
export interface StreamProvision {
  scope: string;
  name: string;
  meta: Record<string, unknown>;
  updated: number;
}

/** Launch configuration, normalised (numbers as numbers). The classic JSON is `{launchconfig: LaunchConfig}`. */
export interface LaunchConfig {
  name: string;
  description: string;
  image: string;
  version: string;
  targets: { target: LaunchTarget[] };
  properties: { property: { name: string; value: string }[] };
  metadata: { meta: { key: string; value: string }[] };
}

export interface LaunchTarget {
  role: Role;
  instanceType: string;
  connectionCapacity: number;
  image?: string;
}

/** One role's rules in a scale policy, normalised with defaults filled in. */
export interface PolicyTarget {
  role: Role;
  minLimit: number;
  maxLimit: number;
  scaleAdjustment: number;
  coolDownPeriod: number;
  estimatedWarmUpTime: number;
  scaleInWaitTime: number;
  scaleOutWaitTime: number;
}

/**
 * Scale policy as stored and served. `version` 0.0.2 keeps a flat `targets.target`; 0.0.3 keeps
 * `targets.region[]`. `regions()` in domain/scale-policy.ts gives the normalised per-region view.
 */
export interface ScalePolicy {
  name: string;
  description: string;
  type: string;
  version: string;
  targets: { target?: Partial<PolicyTarget>[]; region?: { name: string; target: Partial<PolicyTarget>[] }[] };
}

/**
 * A scheduled change of a role's limits for a time window (the classic scheduled events): once
 * (`start`..`end`, epoch ms) or recurring (`cron` start times, each window `durationMs` long).
 */
export interface Schedule {
  id: string;
  role: Role;
  /** Only this region of the group; all regions when absent. */
  region?: string;
  minLimit?: number;
  maxLimit?: number;
  cron?: string;
  /** IANA zone the cron expression is read in (default UTC). */
  timezone?: string;
  durationMs?: number;
  start?: number;
  end?: number;
  label?: string;
}

/** Autoscaling controls of one group, kept in the store so every manager applies the same ones. */
export interface GroupSettings {
  /** No automatic launch, drain or termination. */
  paused: boolean;
  /** While paused: dead and failed nodes are still terminated and replaced. */
  replaceDead: boolean;
  schedules: Schedule[];
}

/**
 * A launch as the store knows it before the node exists (design §6): written before the cloud is asked,
 * completed with the host once the cloud acknowledged, deleted once the node row is saved. What a crash
 * or a lost leadership leaves behind is reconciled with the cloud by the next leader.
 */
export interface LaunchIntent {
  /** Cloud instance name, chosen before the launch. */
  identifier: string;
  group: string;
  role: Role;
  zone: string;
  instanceType: string;
  /** Lease generation of the manager that wrote it (0: written outside the autoscaler, e.g. an admin launch). */
  generation: number;
  created: number;
  /** Address the cloud gave, once it acknowledged. */
  host: string | null;
  updated: number;
}
