import Database from 'better-sqlite3';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  Alarm,
  ClusterNode,
  LaunchConfig,
  LaunchIntent,
  LinkState,
  NodeGroup,
  NodeState,
  NodeStream,
  Relation,
  Role,
  ScaleEvent,
  ScalePolicy,
  StreamProvision,
  GroupSettings,
} from '../domain/types.ts';
import { SCHEMA_VERSION } from './schema-version.ts';
import { type ClusterStore, type LeaseFence, StoreConflictError, StoreUnavailableError } from './cluster-store.ts';

/** The embedded, zero-config cluster store (design §3): one SQLite file, one manager instance. */
const SCHEMA_FILE = new URL('../../sql/cluster.sqlite.sql', import.meta.url);

// Row shapes as they come out of the database. Both schemas (sql/cluster.sqlite.sql, sql/cluster.sql) use
// the same column names, so the MySQL store reuses these types and mappers.
export interface GroupRow {
  id: number;
  name: string;
  regions: string;
  launch_config: string;
  scale_policy: string;
  state: string;
  base_capacity: number;
  created: number;
}
export interface NodeRow {
  id: number;
  address: string;
  identifier: string;
  group_name: string;
  role: string;
  region: string;
  zone: string;
  port: number;
  state: string;
  launch_config: string;
  instance_type: string;
  capacity: number;
  launch_time: number;
  last_report: number | null;
  last_traffic: number;
  reporting_speed: number;
  publishers: number;
  subscribers: number;
  cpu: number | null;
  memory: number | null;
  drain_started: number | null;
  state_reason: string | null;
  state_updated: number;
}
export interface StreamRow {
  address: string;
  scope: string;
  name: string;
  publishers: number;
  subscribers: number;
  start_time: number;
}
export interface RelationRow {
  group_name: string;
  parent: string;
  child: string;
  state: string;
  state_updated: number;
}
export interface GroupSettingsRow {
  group_name: string;
  doc: string;
}
export const toGroupSettings = (r: GroupSettingsRow) => ({ group: r.group_name, settings: JSON.parse(r.doc) as GroupSettings });

export interface ProvisionRow {
  scope: string;
  name: string;
  meta: string;
  updated: number;
}
export interface EventRow {
  id: number;
  group_name: string;
  at: number;
  kind: string;
  role: string | null;
  node: string | null;
  reason: string;
  data: string;
}

export interface IntentRow {
  identifier: string;
  group_name: string;
  role: string;
  zone: string;
  instance_type: string;
  generation: number;
  created: number;
  host: string | null;
  updated: number;
}

export const toIntent = (r: IntentRow): LaunchIntent => ({
  identifier: r.identifier,
  group: r.group_name,
  role: r.role as Role,
  zone: r.zone,
  instanceType: r.instance_type,
  generation: Number(r.generation),
  created: Number(r.created),
  host: r.host,
  updated: Number(r.updated),
});

/** Insert parameters of an intent, in INTENT_COLUMNS order. */
export const intentParams = (i: LaunchIntent) => [i.identifier, i.group, i.role, i.zone, i.instanceType, i.generation, i.created, i.host, i.updated];
export const INTENT_COLUMNS = 'identifier, group_name, role, zone, instance_type, generation, created, host, updated';

export const toGroup = (r: GroupRow): NodeGroup => ({
  id: r.id,
  name: r.name,
  regions: JSON.parse(r.regions) as string[],
  launchConfig: r.launch_config,
  scalePolicy: r.scale_policy,
  state: r.state as NodeGroup['state'],
  baseCapacity: r.base_capacity,
  timestamp: r.created,
});

export const toNode = (r: NodeRow): ClusterNode => ({
  id: r.id,
  identifier: r.identifier,
  group: r.group_name,
  role: r.role as Role,
  region: r.region,
  availabilityZone: r.zone,
  address: r.address,
  port: r.port,
  state: r.state as NodeState,
  launchConfig: r.launch_config,
  instanceType: r.instance_type,
  capacity: r.capacity,
  launchTime: r.launch_time,
  lastReport: r.last_report,
  lastTrafficTime: r.last_traffic,
  reportingSpeed: r.reporting_speed,
  connections: { publishers: r.publishers, subscribers: r.subscribers },
  cpu: r.cpu,
  memory: r.memory,
  drainStartedAt: r.drain_started,
  stateReason: r.state_reason,
  stateUpdated: r.state_updated,
});

/** Named parameters of a node row (every column but id). */
export const nodeParams = (n: ClusterNode) => ({
  address: n.address,
  identifier: n.identifier,
  group_name: n.group,
  role: n.role,
  region: n.region,
  zone: n.availabilityZone,
  port: n.port,
  state: n.state,
  launch_config: n.launchConfig,
  instance_type: n.instanceType,
  capacity: n.capacity,
  launch_time: n.launchTime,
  last_report: n.lastReport ?? null,
  last_traffic: n.lastTrafficTime,
  reporting_speed: n.reportingSpeed,
  publishers: n.connections.publishers,
  subscribers: n.connections.subscribers,
  cpu: n.cpu ?? null,
  memory: n.memory ?? null,
  drain_started: n.drainStartedAt ?? null,
  state_reason: n.stateReason ?? null,
  state_updated: n.stateUpdated,
});
export type NodeParams = ReturnType<typeof nodeParams>;
/** Node columns (but id) in one fixed order, for INSERT column lists. */
export const NODE_COLUMNS = Object.keys(nodeParams({ connections: {} } as ClusterNode)) as (keyof NodeParams)[];

export const toStream = (r: StreamRow): NodeStream => ({
  address: r.address,
  scope: r.scope,
  name: r.name,
  publishers: r.publishers,
  subscribers: r.subscribers,
  startTime: r.start_time,
});

export const toRelation = (r: RelationRow): Relation => ({
  group: r.group_name,
  parent: r.parent,
  child: r.child,
  state: r.state as LinkState,
  stateUpdated: r.state_updated,
});

export const toProvision = (r: ProvisionRow): StreamProvision => ({
  scope: r.scope,
  name: r.name,
  meta: JSON.parse(r.meta) as Record<string, unknown>,
  updated: r.updated,
});

export const toEvent = (r: EventRow): ScaleEvent => ({
  id: r.id,
  group: r.group_name,
  at: r.at,
  kind: r.kind as ScaleEvent['kind'],
  role: r.role as Role | null,
  node: r.node,
  reason: r.reason,
  data: JSON.parse(r.data) as Record<string, unknown>,
});

/** LIMIT/OFFSET must be non-negative integers (SQLite treats a negative LIMIT as "no limit"). */
export const pageInt = (n: number) => Math.min(Math.max(0, Math.trunc(n) || 0), Number.MAX_SAFE_INTEGER);

/**
 * Translates driver errors to the store's vocabulary: key clashes → StoreConflictError; a closed,
 * locked, unreadable or full database → StoreUnavailableError (503). Anything else is a bug and
 * passes through unchanged.
 */
function mapError(e: unknown, conflictMessage: string): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return new StoreConflictError(conflictMessage);
  }
  if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|CORRUPT|NOTADB)/.test(code)) {
    return new StoreUnavailableError(`Cluster store (SQLite) is unavailable: ${code}`, e);
  }
  if (e instanceof TypeError && /connection is not open/.test(e.message)) {
    return new StoreUnavailableError('Cluster store (SQLite) is closed', e);
  }
  return e;
}

/** Opens (creating when needed) the SQLite cluster store at `file` (`:memory:` allowed). */
export function openSqliteStore(file: string): ClusterStore {
  if (file !== ':memory:' && file !== '') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // WAL + NORMAL: a report burst is thousands of small writes; NORMAL keeps them off fsync while
    // WAL still guarantees a consistent file after a crash.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const hasSchema = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
    const version = hasSchema ? (db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0 : 0;
    // DDL is transactional in SQLite: a crash mid-way leaves no half-created schema.
    if (version < SCHEMA_VERSION) db.transaction(() => db.exec(readFileSync(SCHEMA_FILE, 'utf8')))();
    return new SqliteClusterStore(db); // prepares every statement: fails here on a damaged schema
  } catch (e) {
    db.close();
    throw mapError(e, 'Conflicting rows while applying the schema');
  }
}

class SqliteClusterStore implements ClusterStore {
  readonly kind = 'sqlite' as const;
  private readonly s;
  private readonly tx;

  constructor(private readonly db: Database.Database) {
    const p = <R = unknown>(sql: string) => db.prepare<unknown[], R>(sql);
    // Every statement is prepared once, here.
    this.s = {
      listLc: p<{ doc: string }>('SELECT doc FROM launch_configs ORDER BY name'),
      getLc: p<{ doc: string }>('SELECT doc FROM launch_configs WHERE name = ?'),
      insLc: p('INSERT INTO launch_configs (name, doc) VALUES (?, ?)'),
      updLc: p('UPDATE launch_configs SET doc = ? WHERE name = ?'),
      delLc: p('DELETE FROM launch_configs WHERE name = ?'),

      listSp: p<{ doc: string }>('SELECT doc FROM scale_policies ORDER BY name'),
      getSp: p<{ doc: string }>('SELECT doc FROM scale_policies WHERE name = ?'),
      insSp: p('INSERT INTO scale_policies (name, doc) VALUES (?, ?)'),
      updSp: p('UPDATE scale_policies SET doc = ? WHERE name = ?'),
      delSp: p('DELETE FROM scale_policies WHERE name = ?'),

      listAlarms: p<Alarm>('SELECT role, threshold FROM alarms ORDER BY role'),
      setAlarm: p(
        'INSERT INTO alarms (role, threshold) VALUES (?, ?) ON CONFLICT (role) DO UPDATE SET threshold = excluded.threshold',
      ),

      listGroups: p<GroupRow>('SELECT * FROM node_groups ORDER BY id'),
      getGroup: p<GroupRow>('SELECT * FROM node_groups WHERE name = ?'),
      insGroup: p<{ id: number }>(
        `INSERT INTO node_groups (name, regions, launch_config, scale_policy, state, base_capacity, created)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      ),
      setGroupState: p('UPDATE node_groups SET state = ? WHERE name = ?'),
      delGroup: p('DELETE FROM node_groups WHERE name = ?'),
      delGroupStreams: p('DELETE FROM node_streams WHERE address IN (SELECT address FROM nodes WHERE group_name = ?)'),
      delGroupRelations: p(
        `DELETE FROM relations WHERE group_name = @g
           OR parent IN (SELECT address FROM nodes WHERE group_name = @g)
           OR child IN (SELECT address FROM nodes WHERE group_name = @g)`,
      ),
      delGroupNodes: p('DELETE FROM nodes WHERE group_name = ?'),
      delGroupEvents: p('DELETE FROM scale_events WHERE group_name = ?'),
      delGroupSettings: p('DELETE FROM group_settings WHERE group_name = ?'),
      listGroupSettings: p<GroupSettingsRow>('SELECT group_name, doc FROM group_settings ORDER BY group_name'),
      saveGroupSettings: p(
        'INSERT INTO group_settings (group_name, doc, updated) VALUES (?, ?, ?) ON CONFLICT (group_name) DO UPDATE SET doc = excluded.doc, updated = excluded.updated',
      ),

      listNodes: p<NodeRow>('SELECT * FROM nodes ORDER BY id'),
      listGroupNodes: p<NodeRow>('SELECT * FROM nodes WHERE group_name = ? ORDER BY id'),
      getNode: p<NodeRow>('SELECT * FROM nodes WHERE address = ?'),
      // Upsert keyed by address keeps the row id of a node that is saved again.
      saveNode: p<{ id: number }>(
        `INSERT INTO nodes (${NODE_COLUMNS.join(', ')}) VALUES (${NODE_COLUMNS.map((c) => '@' + c).join(', ')})
         ON CONFLICT (address) DO UPDATE SET ${NODE_COLUMNS.filter((c) => c !== 'address')
           .map((c) => `${c} = excluded.${c}`)
           .join(', ')}
         RETURNING id`,
      ),
      // Only the report columns: a report must never undo a state change made elsewhere.
      saveReport: p(
        `UPDATE nodes SET last_report = @last_report, last_traffic = @last_traffic, reporting_speed = @reporting_speed,
           publishers = @publishers, subscribers = @subscribers, cpu = @cpu, memory = @memory,
           capacity = @capacity, port = @port
         WHERE address = @address`,
      ),
      // `from` travels as a JSON array so one prepared statement serves every list of states.
      transition: p(
        `UPDATE nodes SET state = @to, state_reason = @reason, state_updated = @updated, drain_started = @drain
         WHERE address = @address AND state IN (SELECT value FROM json_each(@from))`,
      ),
      delNode: p('DELETE FROM nodes WHERE address = ?'),
      delNodeStreams: p('DELETE FROM node_streams WHERE address = ?'),
      delNodeRelations: p('DELETE FROM relations WHERE parent = @a OR child = @a'),

      listStreams: p<StreamRow>('SELECT * FROM node_streams ORDER BY address, scope, name'),
      insStream: p(
        'INSERT INTO node_streams (address, scope, name, publishers, subscribers, start_time) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      upsertStream: p(
        `INSERT INTO node_streams (address, scope, name, publishers, subscribers, start_time) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (address, scope, name) DO UPDATE SET
           publishers = excluded.publishers, subscribers = excluded.subscribers, start_time = excluded.start_time`,
      ),
      delStream: p('DELETE FROM node_streams WHERE address = ? AND scope = ? AND name = ?'),
      purgeAll: p('DELETE FROM node_streams'),
      purgeExcept: p('DELETE FROM node_streams WHERE address NOT IN (SELECT value FROM json_each(?))'),

      listRelations: p<RelationRow>('SELECT * FROM relations ORDER BY parent, child'),
      listGroupRelations: p<RelationRow>('SELECT * FROM relations WHERE group_name = ? ORDER BY parent, child'),
      saveRelation: p(
        `INSERT INTO relations (group_name, parent, child, state, state_updated) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (parent, child) DO UPDATE SET
           group_name = excluded.group_name, state = excluded.state, state_updated = excluded.state_updated`,
      ),
      setRelationState: p('UPDATE relations SET state = ?, state_updated = ? WHERE parent = ? AND child = ?'),
      delRelation: p('DELETE FROM relations WHERE parent = ? AND child = ?'),

      listProvisions: p<ProvisionRow>('SELECT * FROM stream_provisions ORDER BY scope, name'),
      getProvision: p<ProvisionRow>('SELECT * FROM stream_provisions WHERE scope = ? AND name = ?'),
      insProvision: p('INSERT INTO stream_provisions (scope, name, meta, updated) VALUES (?, ?, ?, ?)'),
      updProvision: p('UPDATE stream_provisions SET meta = ?, updated = ? WHERE scope = ? AND name = ?'),
      delProvision: p('DELETE FROM stream_provisions WHERE scope = ? AND name = ?'),

      insEvent: p<{ id: number }>(
        'INSERT INTO scale_events (group_name, at, kind, role, node, reason, data) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
      ),
      listEvents: p<EventRow>('SELECT * FROM scale_events WHERE group_name = ? ORDER BY id DESC LIMIT ? OFFSET ?'),
      countEvents: p<{ n: number }>('SELECT COUNT(*) AS n FROM scale_events WHERE group_name = ?'),

      insIntent: p(`INSERT INTO launch_intents (${INTENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insIntentFenced: p(
        `INSERT INTO launch_intents (${INTENT_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?
          WHERE EXISTS (SELECT 1 FROM leases WHERE name = ? AND generation = ?)`,
      ),
      completeIntent: p('UPDATE launch_intents SET host = ?, updated = ? WHERE identifier = ?'),
      delIntent: p('DELETE FROM launch_intents WHERE identifier = ?'),
      listIntents: p<IntentRow>('SELECT * FROM launch_intents ORDER BY created, identifier'),
      bumpLease: p<{ generation: number }>(
        `INSERT INTO leases (name, generation, updated) VALUES (?, 1, ?)
         ON CONFLICT (name) DO UPDATE SET generation = generation + 1, updated = excluded.updated
         RETURNING generation`,
      ),
      getLease: p<{ generation: number }>('SELECT generation FROM leases WHERE name = ?'),

      ping: p('SELECT 1'),
    };

    const s = this.s;
    // Multi-row writes: all or nothing.
    this.tx = {
      deleteGroup: db.transaction((name: string) => {
        s.delGroupStreams.run(name);
        s.delGroupRelations.run({ g: name });
        s.delGroupNodes.run(name);
        s.delGroupEvents.run(name);
        s.delGroupSettings.run(name);
        return s.delGroup.run(name).changes > 0;
      }),
      deleteNode: db.transaction((address: string) => {
        s.delNodeStreams.run(address);
        s.delNodeRelations.run({ a: address });
        return s.delNode.run(address).changes > 0;
      }),
      replaceStreams: db.transaction((address: string, streams: NodeStream[]) => {
        s.delNodeStreams.run(address);
        for (const x of streams) s.insStream.run(address, x.scope, x.name, x.publishers, x.subscribers, x.startTime);
      }),
    };
  }

  /** Runs a synchronous driver call, translating its errors; async so every failure is a rejection. */
  private async run<T>(fn: () => T, conflictMessage = 'Duplicate key'): Promise<T> {
    try {
      return fn();
    } catch (e) {
      throw mapError(e, conflictMessage);
    }
  }

  // ---- launch configurations and scale policies

  listLaunchConfigs() {
    return this.run(() => this.s.listLc.all().map((r) => JSON.parse(r.doc) as LaunchConfig));
  }
  getLaunchConfig(name: string) {
    return this.run(() => {
      const r = this.s.getLc.get(name);
      return r ? (JSON.parse(r.doc) as LaunchConfig) : null;
    });
  }
  async createLaunchConfig(doc: LaunchConfig) {
    await this.run(() => this.s.insLc.run(doc.name, JSON.stringify(doc)), `Launch configuration ${doc.name} already exists`);
  }
  updateLaunchConfig(doc: LaunchConfig) {
    return this.run(() => this.s.updLc.run(JSON.stringify(doc), doc.name).changes > 0);
  }
  deleteLaunchConfig(name: string) {
    return this.run(() => this.s.delLc.run(name).changes > 0);
  }

  listScalePolicies() {
    return this.run(() => this.s.listSp.all().map((r) => JSON.parse(r.doc) as ScalePolicy));
  }
  getScalePolicy(name: string) {
    return this.run(() => {
      const r = this.s.getSp.get(name);
      return r ? (JSON.parse(r.doc) as ScalePolicy) : null;
    });
  }
  async createScalePolicy(doc: ScalePolicy) {
    await this.run(() => this.s.insSp.run(doc.name, JSON.stringify(doc)), `Scale policy ${doc.name} already exists`);
  }
  updateScalePolicy(doc: ScalePolicy) {
    return this.run(() => this.s.updSp.run(JSON.stringify(doc), doc.name).changes > 0);
  }
  deleteScalePolicy(name: string) {
    return this.run(() => this.s.delSp.run(name).changes > 0);
  }

  // ---- alarms

  listAlarms() {
    return this.run(() => this.s.listAlarms.all().map((r) => ({ role: r.role, threshold: r.threshold })));
  }
  async setAlarm(alarm: Alarm) {
    await this.run(() => this.s.setAlarm.run(alarm.role, alarm.threshold));
  }

  // ---- node groups

  listGroups() {
    return this.run(() => this.s.listGroups.all().map(toGroup));
  }
  getGroup(name: string) {
    return this.run(() => {
      const r = this.s.getGroup.get(name);
      return r ? toGroup(r) : null;
    });
  }
  createGroup(g: Omit<NodeGroup, 'id'>) {
    return this.run(() => {
      const { id } = this.s.insGroup.get(
        g.name,
        JSON.stringify(g.regions),
        g.launchConfig,
        g.scalePolicy,
        g.state,
        g.baseCapacity,
        g.timestamp,
      )!;
      return { ...g, regions: [...g.regions], id };
    }, `Node group ${g.name} already exists`);
  }
  setGroupState(name: string, state: NodeGroup['state']) {
    return this.run(() => this.s.setGroupState.run(state, name).changes > 0);
  }
  deleteGroup(name: string) {
    return this.run(() => this.tx.deleteGroup(name));
  }

  // ---- nodes

  listNodes(group?: string) {
    return this.run(() => (group === undefined ? this.s.listNodes.all() : this.s.listGroupNodes.all(group)).map(toNode));
  }
  getNode(address: string) {
    return this.run(() => {
      const r = this.s.getNode.get(address);
      return r ? toNode(r) : null;
    });
  }
  saveNode(node: ClusterNode) {
    return this.run(() => {
      const { id } = this.s.saveNode.get(nodeParams(node))!;
      return { ...node, connections: { ...node.connections }, id };
    });
  }
  async saveNodeReport(node: ClusterNode) {
    const p = nodeParams(node);
    await this.run(() =>
      this.s.saveReport.run({
        address: p.address,
        last_report: p.last_report,
        last_traffic: p.last_traffic,
        reporting_speed: p.reporting_speed,
        publishers: p.publishers,
        subscribers: p.subscribers,
        cpu: p.cpu,
        memory: p.memory,
        capacity: p.capacity,
        port: p.port,
      }),
    );
  }
  transitionNode(
    address: string,
    from: readonly NodeState[],
    to: NodeState,
    f: { stateReason: string | null; stateUpdated: number; drainStartedAt: number | null },
  ) {
    return this.run(
      () =>
        this.s.transition.run({
          address,
          from: JSON.stringify(from),
          to,
          reason: f.stateReason,
          updated: f.stateUpdated,
          drain: f.drainStartedAt,
        }).changes > 0,
    );
  }
  deleteNode(address: string) {
    return this.run(() => this.tx.deleteNode(address));
  }

  // ---- streams

  listStreams() {
    return this.run(() => this.s.listStreams.all().map(toStream));
  }
  /** Every row is written under `address` (the reporting node), whatever the items' own `address`. */
  async replaceNodeStreams(address: string, streams: NodeStream[]) {
    await this.run(() => this.tx.replaceStreams(address, streams), `Duplicate stream in the list of node ${address}`);
  }
  async upsertStream(x: NodeStream) {
    await this.run(() => this.s.upsertStream.run(x.address, x.scope, x.name, x.publishers, x.subscribers, x.startTime));
  }
  deleteStream(address: string, scope: string, name: string) {
    return this.run(() => this.s.delStream.run(address, scope, name).changes > 0);
  }
  purgeStreams(keepAddresses?: string[]) {
    return this.run(() =>
      keepAddresses === undefined
        ? this.s.purgeAll.run().changes
        : this.s.purgeExcept.run(JSON.stringify(keepAddresses)).changes,
    );
  }

  // ---- relations

  listRelations(group?: string) {
    return this.run(() =>
      (group === undefined ? this.s.listRelations.all() : this.s.listGroupRelations.all(group)).map(toRelation),
    );
  }
  async saveRelation(r: Relation) {
    await this.run(() => this.s.saveRelation.run(r.group, r.parent, r.child, r.state, r.stateUpdated));
  }
  setRelationState(parent: string, child: string, state: LinkState, at: number) {
    return this.run(() => this.s.setRelationState.run(state, at, parent, child).changes > 0);
  }
  deleteRelation(parent: string, child: string) {
    return this.run(() => this.s.delRelation.run(parent, child).changes > 0);
  }

  // ---- group settings

  listGroupSettings() {
    return this.run(() => this.s.listGroupSettings.all().map(toGroupSettings));
  }
  async saveGroupSettings(group: string, settings: GroupSettings, at: number) {
    await this.run(() => this.s.saveGroupSettings.run(group, JSON.stringify(settings), at));
  }

  // ---- stream provisions

  listProvisions() {
    return this.run(() => this.s.listProvisions.all().map(toProvision));
  }
  getProvision(scope: string, name: string) {
    return this.run(() => {
      const r = this.s.getProvision.get(scope, name);
      return r ? toProvision(r) : null;
    });
  }
  async createProvision(p: StreamProvision) {
    await this.run(
      () => this.s.insProvision.run(p.scope, p.name, JSON.stringify(p.meta), p.updated),
      'Provision already exists',
    );
  }
  updateProvision(p: StreamProvision) {
    return this.run(() => this.s.updProvision.run(JSON.stringify(p.meta), p.updated, p.scope, p.name).changes > 0);
  }
  deleteProvision(scope: string, name: string) {
    return this.run(() => this.s.delProvision.run(scope, name).changes > 0);
  }

  // ---- launch intents and lease generations

  addLaunchIntent(i: LaunchIntent, fence?: LeaseFence) {
    return this.run(
      () => (fence ? this.s.insIntentFenced.run(...intentParams(i), fence.lease, fence.generation) : this.s.insIntent.run(...intentParams(i))).changes > 0,
      `Launch intent ${i.identifier} already exists`,
    );
  }
  completeLaunchIntent(identifier: string, host: string, at: number) {
    return this.run(() => this.s.completeIntent.run(host, at, identifier).changes > 0);
  }
  deleteLaunchIntent(identifier: string) {
    return this.run(() => this.s.delIntent.run(identifier).changes > 0);
  }
  listLaunchIntents() {
    return this.run(() => this.s.listIntents.all().map(toIntent));
  }
  nextLeaseGeneration(name: string, at: number) {
    return this.run(() => this.s.bumpLease.get(name, at)!.generation);
  }
  leaseGeneration(name: string) {
    return this.run(() => this.s.getLease.get(name)?.generation ?? 0);
  }

  // ---- scale events

  addScaleEvent(e: ScaleEvent) {
    return this.run(() => {
      const { id } = this.s.insEvent.get(e.group, e.at, e.kind, e.role, e.node, e.reason, JSON.stringify(e.data))!;
      return { ...e, data: JSON.parse(JSON.stringify(e.data)) as Record<string, unknown>, id };
    });
  }
  listScaleEvents(group: string, page: { limit: number; offset: number }) {
    return this.run(() => this.s.listEvents.all(group, pageInt(page.limit), pageInt(page.offset)).map(toEvent));
  }
  countScaleEvents(group: string) {
    return this.run(() => this.s.countEvents.get(group)!.n);
  }

  async ping() {
    await this.run(() => this.s.ping.get());
  }
  async close() {
    // better-sqlite3's close is idempotent; later calls fail with StoreUnavailableError.
    this.db.close();
  }
}
