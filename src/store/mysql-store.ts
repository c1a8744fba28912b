import { readFileSync } from 'node:fs';
import {
  createConnection,
  createPool,
  escapeId,
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
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
  ScaleEvent,
  ScalePolicy,
  StreamProvision,
  GroupSettings,
} from '../domain/types.ts';
import { SCHEMA_VERSION } from './schema-version.ts';
import { type ClusterStore, type LeaseFence, StoreConflictError, StoreInputError, StoreUnavailableError } from './cluster-store.ts';
import {
  type EventRow,
  type GroupSettingsRow,
  toGroupSettings,
  type GroupRow,
  type IntentRow,
  INTENT_COLUMNS,
  intentParams,
  toIntent,
  type NodeRow,
  type ProvisionRow,
  type RelationRow,
  type StreamRow,
  NODE_COLUMNS,
  nodeParams,
  pageInt,
  toEvent,
  toGroup,
  toNode,
  toProvision,
  toRelation,
  toStream,
} from './sqlite-store.ts';

/** The shared cluster store (design §3, §6): several manager instances may use one database. */
export interface MysqlOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  connectionLimit?: number;
  /** A query not answered within this many ms fails (503) and its connection is dropped (config.dbQueryTimeout). */
  queryTimeout?: number;
  /** Requests waiting for a free connection beyond this many fail at once (503) (config.dbQueueLimit). */
  queueLimit?: number;
}

const SCHEMA_FILE = new URL('../../sql/cluster.sql', import.meta.url);
/** A down database must turn into a quick 503, not a request hanging for the OS TCP timeout. */
export const CONNECT_TIMEOUT_MS = 3000;
/** A stalled database must not stall the tick, the reports or the admin API forever (design §6). */
export const QUERY_TIMEOUT_MS = 5000;
export const QUEUE_LIMIT = 100;

/** Errors caused by the values written (too long, out of range): the caller's input, a 400, not a 500. */
const INPUT_CODES = new Set([
  'ER_DATA_TOO_LONG',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_BAD_NULL_ERROR',
  'ER_INVALID_CHARACTER_STRING',
]);

/** Errors that mean "the database cannot be used right now" (→ 503), as opposed to bugs. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_HOST_IS_BLOCKED',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_SERVER_SHUTDOWN',
  'ER_NORMAL_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_OPTION_PREVENTS_STATEMENT', // read-only server (failover in progress)
]);

/**
 * Translates a mysql2 error. `where` names the server (user@host:port/db, never the password); the
 * driver's own messages never carry the password either, so they are kept for the operator.
 */
export function mapMysqlError(e: unknown, where: string, conflictMessage = 'Duplicate key'): unknown {
  const err = e as { code?: unknown; fatal?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (code === 'ER_DUP_ENTRY') return new StoreConflictError(conflictMessage);
  const message = typeof err?.message === 'string' ? err.message : String(e);
  if (code && INPUT_CODES.has(code)) {
    // The driver names the column ("Data too long for column 'scope' at row 1"): no values, no secrets.
    return new StoreInputError(`A value does not fit the cluster database (names and scopes are at most 254 characters): ${message}`, e);
  }
  if (
    (code && UNAVAILABLE_CODES.has(code)) ||
    err?.fatal === true ||
    /Pool is closed|closed state|Queue limit reached/.test(message)
  ) {
    return new StoreUnavailableError(`Cluster database ${where} is unavailable (${code ?? message}): ${message}`, e);
  }
  return e;
}

const label = (o: MysqlOptions) => `${o.user}@${o.host}:${o.port}/${o.database}`;

/** Statements of a schema file: split at `;` ending a line, whole-line comments dropped. */
export function splitSqlStatements(text: string): string[] {
  return text
    .split(/;[ \t]*$/m)
    .map((chunk) =>
      chunk
        .split('\n')
        .filter((line) => !/^\s*--/.test(line))
        .join('\n')
        .trim(),
    )
    .filter(Boolean);
}

/**
 * Opens the MySQL cluster store: creates the database when missing and applies sql/cluster.sql when
 * it has no schema_version table (design §3). Rejects with StoreUnavailableError when the server
 * cannot be reached or refuses the credentials.
 */
export async function openMysqlStore(opts: MysqlOptions): Promise<ClusterStore> {
  const where = label(opts);
  const server = { host: opts.host, port: opts.port, user: opts.user, password: opts.password };
  try {
    // A connection without a database: the database itself may not exist yet.
    const admin = await createConnection({ ...server, connectTimeout: CONNECT_TIMEOUT_MS });
    try {
      await admin.query(
        `CREATE DATABASE IF NOT EXISTS ${escapeId(opts.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
      );
    } finally {
      await admin.end().catch(() => undefined);
    }
  } catch (e) {
    throw mapMysqlError(e, where);
  }

  const pool = createPool({
    ...server,
    database: opts.database,
    connectionLimit: opts.connectionLimit ?? 10,
    queueLimit: opts.queueLimit ?? QUEUE_LIMIT,
    connectTimeout: CONNECT_TIMEOUT_MS,
    enableKeepAlive: true,
    charset: 'utf8mb4_bin',
  });
  try {
    await applySchemaIfAbsent(pool);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw mapMysqlError(e, where);
  }
  return new MysqlClusterStore(pool, where, opts.queryTimeout ?? QUERY_TIMEOUT_MS);
}

async function applySchemaIfAbsent(pool: Pool): Promise<void> {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'schema_version'",
  );
  if (Number(rows[0].n) > 0) {
    const [v] = await pool.query<RowDataPacket[]>('SELECT MAX(version) AS v FROM schema_version');
    if (Number(v[0].v ?? 0) >= SCHEMA_VERSION) return;
  }
  // Every statement is idempotent (IF NOT EXISTS, INSERT IGNORE): managers starting together are safe.
  const conn = await pool.getConnection();
  try {
    for (const stmt of splitSqlStatements(readFileSync(SCHEMA_FILE, 'utf8'))) await conn.query(stmt);
  } finally {
    conn.release();
  }
}

type Params = (string | number | null)[];


class MysqlClusterStore implements ClusterStore {
  readonly kind = 'mysql' as const;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly where: string,
    private readonly timeout: number,
  ) {}

  /**
   * Runs `fn` on a pool connection within the query timeout, waiting for a free connection included. A
   * connection past the deadline is destroyed (its statement may hang forever: mysql2 has no timeout on a
   * statement's PREPARE) and the call fails with StoreUnavailableError (503): a stalled database never
   * holds a request, a report write or a tick for longer than this.
   */
  private async within<T>(fn: (c: PoolConnection) => Promise<T>, conflictMessage?: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let conn: PoolConnection | undefined;
    let late = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        late = true;
        conn?.destroy();
        reject(new StoreUnavailableError(`Cluster database ${this.where} did not answer within ${this.timeout} ms`));
      }, this.timeout);
    });
    const work = (async () => {
      const c = await this.pool.getConnection();
      if (late) {
        c.destroy(); // the caller has had its 503 already
        throw new Error('late');
      }
      conn = c;
      try {
        const result = await fn(c);
        c.release();
        return result;
      } catch (e) {
        if (!late) (e as { fatal?: unknown })?.fatal ? c.destroy() : c.release();
        throw e;
      }
    })();
    try {
      return await Promise.race([work, deadline]);
    } catch (e) {
      throw mapMysqlError(e, this.where, conflictMessage);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One prepared statement (mysql2 caches it per connection). */
  private async exec<T extends RowDataPacket[] | ResultSetHeader>(sql: string, params: Params = [], conflictMessage?: string): Promise<T> {
    return this.within(async (c) => (await c.execute<T>(sql, params))[0], conflictMessage);
  }

  /** Client-side interpolation: for lists (`IN (?)`, `VALUES ?`) and inline LIMITs, which would each make a new prepared statement. */
  private async query<T extends RowDataPacket[] | ResultSetHeader>(sql: string, params: unknown[] = []): Promise<T> {
    return this.within(async (c) => (await c.query<T>(sql, params))[0]);
  }

  private async rows<R>(sql: string, params: Params = []): Promise<R[]> {
    return (await this.exec<RowDataPacket[]>(sql, params)) as unknown as R[];
  }

  private async changed(sql: string, params: Params): Promise<number> {
    // mysql2 connects with CLIENT_FOUND_ROWS: affectedRows counts matched rows, so an UPDATE that
    // writes identical values still reports the row as found.
    return (await this.exec<ResultSetHeader>(sql, params)).affectedRows;
  }

  /** Multi-row writes: one connection, one transaction; a failure rolls everything back. */
  private tx<T>(fn: (c: PoolConnection) => Promise<T>, conflictMessage?: string): Promise<T> {
    return this.within(async (c) => {
      await c.beginTransaction();
      try {
        const result = await fn(c);
        await c.commit();
        return result;
      } catch (e) {
        // A connection that cannot even roll back is broken: within() takes it out of the pool.
        await c.rollback().catch(() => {
          throw Object.assign(e as object, { fatal: true });
        });
        throw e;
      }
    }, conflictMessage);
  }

  // ---- launch configurations and scale policies

  async listLaunchConfigs() {
    const rows = await this.rows<{ doc: string }>('SELECT doc FROM launch_configs ORDER BY name');
    return rows.map((r) => JSON.parse(r.doc) as LaunchConfig);
  }
  async getLaunchConfig(name: string) {
    const [r] = await this.rows<{ doc: string }>('SELECT doc FROM launch_configs WHERE name = ?', [name]);
    return r ? (JSON.parse(r.doc) as LaunchConfig) : null;
  }
  async createLaunchConfig(doc: LaunchConfig) {
    await this.exec(
      'INSERT INTO launch_configs (name, doc) VALUES (?, ?)',
      [doc.name, JSON.stringify(doc)],
      `Launch configuration ${doc.name} already exists`,
    );
  }
  async updateLaunchConfig(doc: LaunchConfig) {
    return (await this.changed('UPDATE launch_configs SET doc = ? WHERE name = ?', [JSON.stringify(doc), doc.name])) > 0;
  }
  async deleteLaunchConfig(name: string) {
    return (await this.changed('DELETE FROM launch_configs WHERE name = ?', [name])) > 0;
  }

  async listScalePolicies() {
    const rows = await this.rows<{ doc: string }>('SELECT doc FROM scale_policies ORDER BY name');
    return rows.map((r) => JSON.parse(r.doc) as ScalePolicy);
  }
  async getScalePolicy(name: string) {
    const [r] = await this.rows<{ doc: string }>('SELECT doc FROM scale_policies WHERE name = ?', [name]);
    return r ? (JSON.parse(r.doc) as ScalePolicy) : null;
  }
  async createScalePolicy(doc: ScalePolicy) {
    await this.exec(
      'INSERT INTO scale_policies (name, doc) VALUES (?, ?)',
      [doc.name, JSON.stringify(doc)],
      `Scale policy ${doc.name} already exists`,
    );
  }
  async updateScalePolicy(doc: ScalePolicy) {
    return (await this.changed('UPDATE scale_policies SET doc = ? WHERE name = ?', [JSON.stringify(doc), doc.name])) > 0;
  }
  async deleteScalePolicy(name: string) {
    return (await this.changed('DELETE FROM scale_policies WHERE name = ?', [name])) > 0;
  }

  // ---- alarms

  async listAlarms() {
    const rows = await this.rows<Alarm>('SELECT role, threshold FROM alarms ORDER BY role');
    return rows.map((r) => ({ role: r.role, threshold: r.threshold }));
  }
  async setAlarm(alarm: Alarm) {
    await this.exec(
      'INSERT INTO alarms (role, threshold) VALUES (?, ?) ON DUPLICATE KEY UPDATE threshold = VALUES(threshold)',
      [alarm.role, alarm.threshold],
    );
  }

  // ---- node groups

  async listGroups() {
    return (await this.rows<GroupRow>('SELECT * FROM node_groups ORDER BY id')).map(toGroup);
  }
  async getGroup(name: string) {
    const [r] = await this.rows<GroupRow>('SELECT * FROM node_groups WHERE name = ?', [name]);
    return r ? toGroup(r) : null;
  }
  async createGroup(g: Omit<NodeGroup, 'id'>) {
    const res = await this.exec<ResultSetHeader>(
      `INSERT INTO node_groups (name, regions, launch_config, scale_policy, state, base_capacity, created)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [g.name, JSON.stringify(g.regions), g.launchConfig, g.scalePolicy, g.state, g.baseCapacity, g.timestamp],
      `Node group ${g.name} already exists`,
    );
    return { ...g, regions: [...g.regions], id: res.insertId };
  }
  async setGroupState(name: string, state: NodeGroup['state']) {
    return (await this.changed('UPDATE node_groups SET state = ? WHERE name = ?', [state, name])) > 0;
  }
  deleteGroup(name: string) {
    return this.tx(async (c) => {
      const nodesOf = 'SELECT address FROM nodes WHERE group_name = ?';
      await c.execute(`DELETE FROM node_streams WHERE address IN (${nodesOf})`, [name]);
      await c.execute(
        `DELETE FROM relations WHERE group_name = ? OR parent IN (${nodesOf}) OR child IN (${nodesOf})`,
        [name, name, name],
      );
      await c.execute('DELETE FROM nodes WHERE group_name = ?', [name]);
      await c.execute('DELETE FROM scale_events WHERE group_name = ?', [name]);
      await c.execute('DELETE FROM group_settings WHERE group_name = ?', [name]);
      const [res] = await c.execute<ResultSetHeader>('DELETE FROM node_groups WHERE name = ?', [name]);
      return res.affectedRows > 0;
    });
  }

  // ---- nodes

  async listNodes(group?: string) {
    const rows =
      group === undefined
        ? await this.rows<NodeRow>('SELECT * FROM nodes ORDER BY id')
        : await this.rows<NodeRow>('SELECT * FROM nodes WHERE group_name = ? ORDER BY id', [group]);
    return rows.map(toNode);
  }
  async getNode(address: string) {
    const [r] = await this.rows<NodeRow>('SELECT * FROM nodes WHERE address = ?', [address]);
    return r ? toNode(r) : null;
  }
  async saveNode(node: ClusterNode) {
    const p = nodeParams(node);
    // Upsert keyed by address; `id = LAST_INSERT_ID(id)` makes insertId the existing row's id on update.
    const res = await this.exec<ResultSetHeader>(
      `INSERT INTO nodes (${NODE_COLUMNS.join(', ')}) VALUES (${NODE_COLUMNS.map(() => '?').join(', ')})
       ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), ${NODE_COLUMNS.filter((c) => c !== 'address')
         .map((c) => `${c} = VALUES(${c})`)
         .join(', ')}`,
      NODE_COLUMNS.map((c) => p[c]),
    );
    return { ...node, connections: { ...node.connections }, id: res.insertId };
  }
  async saveNodeReport(node: ClusterNode) {
    const p = nodeParams(node);
    // Only the report columns: a report must never undo a state change made by another manager.
    await this.exec(
      `UPDATE nodes SET last_report = ?, last_traffic = ?, reporting_speed = ?, publishers = ?, subscribers = ?,
         cpu = ?, memory = ?, capacity = ?, port = ?
       WHERE address = ?`,
      [p.last_report, p.last_traffic, p.reporting_speed, p.publishers, p.subscribers, p.cpu, p.memory, p.capacity, p.port, p.address],
    );
  }
  async transitionNode(
    address: string,
    from: readonly NodeState[],
    to: NodeState,
    f: { stateReason: string | null; stateUpdated: number; drainStartedAt: number | null },
  ) {
    if (from.length === 0) return false;
    const n = await this.changed(
      `UPDATE nodes SET state = ?, state_reason = ?, state_updated = ?, drain_started = ?
       WHERE address = ? AND state IN (${from.map(() => '?').join(', ')})`,
      [to, f.stateReason ?? null, f.stateUpdated, f.drainStartedAt ?? null, address, ...from],
    );
    return n > 0;
  }
  deleteNode(address: string) {
    return this.tx(async (c) => {
      await c.execute('DELETE FROM node_streams WHERE address = ?', [address]);
      await c.execute('DELETE FROM relations WHERE parent = ? OR child = ?', [address, address]);
      const [res] = await c.execute<ResultSetHeader>('DELETE FROM nodes WHERE address = ?', [address]);
      return res.affectedRows > 0;
    });
  }

  // ---- streams

  async listStreams() {
    return (await this.rows<StreamRow>('SELECT * FROM node_streams ORDER BY address, scope, name')).map(toStream);
  }
  /** Every row is written under `address` (the reporting node), whatever the items' own `address`. */
  async replaceNodeStreams(address: string, streams: NodeStream[]) {
    if (streams.length === 0) {
      await this.exec('DELETE FROM node_streams WHERE address = ?', [address]);
      return;
    }
    await this.tx(async (c) => {
      await c.execute('DELETE FROM node_streams WHERE address = ?', [address]);
      // One multi-row INSERT (client-side expansion of `VALUES ?`): one round trip for any list size.
      await c.query('INSERT INTO node_streams (address, scope, name, publishers, subscribers, start_time) VALUES ?', [
        streams.map((x) => [address, x.scope, x.name, x.publishers, x.subscribers, x.startTime]),
      ]);
    }, `Duplicate stream in the list of node ${address}`);
  }
  async upsertStream(x: NodeStream) {
    await this.exec(
      `INSERT INTO node_streams (address, scope, name, publishers, subscribers, start_time) VALUES (?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE publishers = VALUES(publishers), subscribers = VALUES(subscribers),
         start_time = VALUES(start_time)`,
      [x.address, x.scope, x.name, x.publishers, x.subscribers, x.startTime],
    );
  }
  async deleteStream(address: string, scope: string, name: string) {
    return (
      (await this.changed('DELETE FROM node_streams WHERE address = ? AND scope = ? AND name = ?', [address, scope, name])) > 0
    );
  }
  async purgeStreams(keepAddresses?: string[]) {
    if (!keepAddresses?.length) return this.changed('DELETE FROM node_streams', []);
    const res = await this.query<ResultSetHeader>('DELETE FROM node_streams WHERE address NOT IN (?)', [keepAddresses]);
    return res.affectedRows;
  }

  // ---- relations

  async listRelations(group?: string) {
    const rows =
      group === undefined
        ? await this.rows<RelationRow>('SELECT * FROM relations ORDER BY parent, child')
        : await this.rows<RelationRow>('SELECT * FROM relations WHERE group_name = ? ORDER BY parent, child', [group]);
    return rows.map(toRelation);
  }
  async saveRelation(r: Relation) {
    await this.exec(
      `INSERT INTO relations (group_name, parent, child, state, state_updated) VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE group_name = VALUES(group_name), state = VALUES(state), state_updated = VALUES(state_updated)`,
      [r.group, r.parent, r.child, r.state, r.stateUpdated],
    );
  }
  async setRelationState(parent: string, child: string, state: LinkState, at: number) {
    return (
      (await this.changed('UPDATE relations SET state = ?, state_updated = ? WHERE parent = ? AND child = ?', [
        state,
        at,
        parent,
        child,
      ])) > 0
    );
  }
  async deleteRelation(parent: string, child: string) {
    return (await this.changed('DELETE FROM relations WHERE parent = ? AND child = ?', [parent, child])) > 0;
  }

  // ---- group settings

  async listGroupSettings() {
    return (await this.rows<GroupSettingsRow>('SELECT group_name, doc FROM group_settings ORDER BY group_name')).map(toGroupSettings);
  }
  async saveGroupSettings(group: string, settings: GroupSettings, at: number) {
    await this.exec(
      'INSERT INTO group_settings (group_name, doc, updated) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE doc = VALUES(doc), updated = VALUES(updated)',
      [group, JSON.stringify(settings), at],
    );
  }

  // ---- stream provisions

  async listProvisions() {
    return (await this.rows<ProvisionRow>('SELECT * FROM stream_provisions ORDER BY scope, name')).map(toProvision);
  }
  async getProvision(scope: string, name: string) {
    const [r] = await this.rows<ProvisionRow>('SELECT * FROM stream_provisions WHERE scope = ? AND name = ?', [scope, name]);
    return r ? toProvision(r) : null;
  }
  async createProvision(p: StreamProvision) {
    await this.exec(
      'INSERT INTO stream_provisions (scope, name, meta, updated) VALUES (?, ?, ?, ?)',
      [p.scope, p.name, JSON.stringify(p.meta), p.updated],
      'Provision already exists',
    );
  }
  async updateProvision(p: StreamProvision) {
    return (
      (await this.changed('UPDATE stream_provisions SET meta = ?, updated = ? WHERE scope = ? AND name = ?', [
        JSON.stringify(p.meta),
        p.updated,
        p.scope,
        p.name,
      ])) > 0
    );
  }
  async deleteProvision(scope: string, name: string) {
    return (await this.changed('DELETE FROM stream_provisions WHERE scope = ? AND name = ?', [scope, name])) > 0;
  }

  // ---- launch intents and lease generations

  async addLaunchIntent(i: LaunchIntent, fence?: LeaseFence) {
    const msg = `Launch intent ${i.identifier} already exists`;
    if (!fence) return (await this.exec<ResultSetHeader>(`INSERT INTO launch_intents (${INTENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, intentParams(i), msg)).affectedRows > 0;
    const r = await this.exec<ResultSetHeader>(
      `INSERT INTO launch_intents (${INTENT_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? FROM DUAL
        WHERE EXISTS (SELECT 1 FROM leases WHERE name = ? AND generation = ?)`,
      [...intentParams(i), fence.lease, fence.generation],
      msg,
    );
    return r.affectedRows > 0;
  }
  async completeLaunchIntent(identifier: string, host: string, at: number) {
    return (await this.changed('UPDATE launch_intents SET host = ?, updated = ? WHERE identifier = ?', [host, at, identifier])) > 0;
  }
  async deleteLaunchIntent(identifier: string) {
    return (await this.changed('DELETE FROM launch_intents WHERE identifier = ?', [identifier])) > 0;
  }
  async listLaunchIntents() {
    return (await this.rows<IntentRow>('SELECT * FROM launch_intents ORDER BY created, identifier')).map(toIntent);
  }
  async nextLeaseGeneration(name: string, at: number) {
    // One transaction: the row lock orders concurrent gains, and the read sees this one's bump.
    return this.tx(async (c) => {
      await c.execute('INSERT INTO leases (name, generation, updated) VALUES (?, 1, ?) ON DUPLICATE KEY UPDATE generation = generation + 1, updated = VALUES(updated)', [name, at]);
      const [rows] = await c.execute<RowDataPacket[]>('SELECT generation FROM leases WHERE name = ?', [name]);
      return Number(rows[0].generation);
    });
  }
  async leaseGeneration(name: string) {
    const [r] = await this.rows<{ generation: number }>('SELECT generation FROM leases WHERE name = ?', [name]);
    return r ? Number(r.generation) : 0;
  }

  // ---- scale events

  async addScaleEvent(e: ScaleEvent) {
    const res = await this.exec<ResultSetHeader>(
      'INSERT INTO scale_events (group_name, at, kind, role, node, reason, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [e.group, e.at, e.kind, e.role ?? null, e.node ?? null, e.reason, JSON.stringify(e.data)],
    );
    return { ...e, data: JSON.parse(JSON.stringify(e.data)) as Record<string, unknown>, id: res.insertId };
  }
  async listScaleEvents(group: string, page: { limit: number; offset: number }) {
    // Validated integers inline: MySQL 8 rejects numeric LIMIT parameters of prepared statements.
    const rows = await this.query<RowDataPacket[]>(
      `SELECT * FROM scale_events WHERE group_name = ? ORDER BY id DESC LIMIT ${pageInt(page.limit)} OFFSET ${pageInt(page.offset)}`,
      [group],
    );
    return (rows as unknown as EventRow[]).map(toEvent);
  }
  async countScaleEvents(group: string) {
    const [r] = await this.rows<{ n: number }>('SELECT COUNT(*) AS n FROM scale_events WHERE group_name = ?', [group]);
    return Number(r.n);
  }

  async ping() {
    await this.exec('SELECT 1');
  }
  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
