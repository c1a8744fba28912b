import type {
  Alarm,
  ClusterNode,
  LaunchIntent,
  LaunchConfig,
  NodeGroup,
  NodeState,
  NodeStream,
  Relation,
  Role,
  ScaleEvent,
  ScalePolicy,
  StreamProvision,
  LinkState,
  GroupSettings,
} from '../domain/types.ts';

/**
 * The cluster's durable state. Two implementations (SQLite: src/store/sqlite-store.ts, MySQL:
 * src/store/mysql-store.ts) pass the same contract suite (test/store/cluster-store.contract.ts).
 *
 * Rules every implementation keeps:
 * - every method is atomic: a failure leaves nothing half-written (multi-row writes use a transaction);
 * - reads return fresh copies (callers may mutate them);
 * - "not found" is `null` / `false`, never an exception; unique-name clashes throw StoreConflictError;
 * - a broken connection or a query past its timeout throws StoreUnavailableError (mapped to 503);
 * - a value the schema cannot hold throws StoreInputError (mapped to 400).
 */
export interface ClusterStore {
  readonly kind: 'sqlite' | 'mysql';

  // ---- launch configurations and scale policies (stored as their classic JSON documents)
  listLaunchConfigs(): Promise<LaunchConfig[]>;
  getLaunchConfig(name: string): Promise<LaunchConfig | null>;
  /** Inserts; StoreConflictError when the name exists. */
  createLaunchConfig(doc: LaunchConfig): Promise<void>;
  /** Replaces; false when absent. */
  updateLaunchConfig(doc: LaunchConfig): Promise<boolean>;
  deleteLaunchConfig(name: string): Promise<boolean>;

  listScalePolicies(): Promise<ScalePolicy[]>;
  getScalePolicy(name: string): Promise<ScalePolicy | null>;
  createScalePolicy(doc: ScalePolicy): Promise<void>;
  updateScalePolicy(doc: ScalePolicy): Promise<boolean>;
  deleteScalePolicy(name: string): Promise<boolean>;

  // ---- scale-out alarms (one per role; roles never set are absent)
  listAlarms(): Promise<Alarm[]>;
  setAlarm(alarm: Alarm): Promise<void>;

  // ---- node groups
  listGroups(): Promise<NodeGroup[]>;
  getGroup(name: string): Promise<NodeGroup | null>;
  /** Assigns and returns `id`; StoreConflictError on a duplicate name. */
  createGroup(group: Omit<NodeGroup, 'id'>): Promise<NodeGroup>;
  setGroupState(name: string, state: NodeGroup['state']): Promise<boolean>;
  /** Deletes the group with its nodes, relations, streams and scale events. */
  deleteGroup(name: string): Promise<boolean>;

  // ---- nodes (keyed by address; an address belongs to at most one node)
  listNodes(group?: string): Promise<ClusterNode[]>;
  getNode(address: string): Promise<ClusterNode | null>;
  /** Inserts (id assigned) or replaces the whole row of the node with this address. Returns the stored node. */
  saveNode(node: ClusterNode): Promise<ClusterNode>;
  /**
   * Writes only the report columns (lastReport, lastTrafficTime, reportingSpeed, connections, cpu, memory,
   * capacity, port) so a report persisted by one manager never undoes a state change made by another.
   */
  saveNodeReport(node: ClusterNode): Promise<void>;
  /** Conditional transition: sets state (and reason, stateUpdated, drainStartedAt) only when the current state is in `from`. */
  transitionNode(
    address: string,
    from: readonly NodeState[],
    to: NodeState,
    fields: { stateReason: string | null; stateUpdated: number; drainStartedAt: number | null },
  ): Promise<boolean>;
  /** Deletes the node and its relations and streams. */
  deleteNode(address: string): Promise<boolean>;

  // ---- streams (a node's list is replaced as a whole: its report is the truth)
  listStreams(): Promise<NodeStream[]>;
  replaceNodeStreams(address: string, streams: NodeStream[]): Promise<void>;
  upsertStream(stream: NodeStream): Promise<void>;
  deleteStream(address: string, scope: string, name: string): Promise<boolean>;
  /** Deletes every stream row (optionally only those whose node is not in `keepAddresses`); returns the count. */
  purgeStreams(keepAddresses?: string[]): Promise<number>;

  // ---- relations (parent → child links)
  listRelations(group?: string): Promise<Relation[]>;
  saveRelation(relation: Relation): Promise<void>;
  setRelationState(parent: string, child: string, state: LinkState, at: number): Promise<boolean>;
  deleteRelation(parent: string, child: string): Promise<boolean>;

  // ---- autoscaling controls per group (pause, schedules); deleted with the group
  listGroupSettings(): Promise<{ group: string; settings: GroupSettings }[]>;
  /** Inserts or replaces the group's document. */
  saveGroupSettings(group: string, settings: GroupSettings, at: number): Promise<void>;

  // ---- stream provisions
  listProvisions(): Promise<StreamProvision[]>;
  getProvision(scope: string, name: string): Promise<StreamProvision | null>;
  /** StoreConflictError when it exists. */
  createProvision(p: StreamProvision): Promise<void>;
  updateProvision(p: StreamProvision): Promise<boolean>;
  deleteProvision(scope: string, name: string): Promise<boolean>;

  // ---- launch intents (design §6: a launch is written before the cloud is asked)
  /**
   * Inserts; StoreConflictError when the identifier exists. With `fence`, only while the named lease is
   * still at that generation: false (nothing written) when another manager has gained it since.
   */
  addLaunchIntent(intent: LaunchIntent, fence?: LeaseFence): Promise<boolean>;
  /** Records the host the cloud gave; false when the intent is gone. */
  completeLaunchIntent(identifier: string, host: string, at: number): Promise<boolean>;
  deleteLaunchIntent(identifier: string): Promise<boolean>;
  /** Oldest first. */
  listLaunchIntents(): Promise<LaunchIntent[]>;

  // ---- lease generations (fencing: an action carries the generation it was decided under)
  /** Bumps and returns the generation of the named lease: called by the manager that just gained it. */
  nextLeaseGeneration(name: string, at: number): Promise<number>;
  /** Current generation of the named lease (0 when never gained). */
  leaseGeneration(name: string): Promise<number>;

  // ---- scale event log
  addScaleEvent(e: ScaleEvent): Promise<ScaleEvent>;
  /** Newest first. */
  listScaleEvents(group: string, page: { limit: number; offset: number }): Promise<ScaleEvent[]>;
  countScaleEvents(group: string): Promise<number>;

  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A write made under a lease: refused when the lease has moved on to another generation. */
export interface LeaseFence {
  lease: string;
  generation: number;
}

/** An action decided under a lease generation that is no longer current: refused (fencing). */
export class StaleLeaseError extends Error {
  readonly code = 'STALE_LEASE';
  constructor(message: string) {
    super(message);
    this.name = 'StaleLeaseError';
  }
}

/** Exclusive autoscaler lease (design §6): MySQL GET_LOCK; SQLite is single-instance and always holds it. */
export interface Lease {
  /** Tries to take or keep the lease; true when this instance holds it now. Never throws. */
  acquire(): Promise<boolean>;
  readonly held: boolean;
  release(): Promise<void>;
  /**
   * Gives the lease up at once, without a round trip (a leader whose store stopped answering): the
   * connection holding it is dropped, so the server frees the lock.
   */
  abandon(): void;
}

export class StoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}

/** A value the database cannot hold (too long, out of range): the caller's input, mapped to 400. */
export class StoreInputError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StoreInputError';
  }
}

export class StoreUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StoreUnavailableError';
  }
}

export type RoleCounts = Partial<Record<Role, number>>;
