import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * The simulated cloud's pool of pre-existing hosts, kept where the classic controller kept it:
 * `<dataDir>/Simulated-Cloud-Platform/hostednodes.sqlite`. Every method is synchronous (better-sqlite3)
 * and every write runs in an IMMEDIATE transaction, so two launches at the same moment (in this process or
 * in another one opening the same file) can never reserve the same host.
 */

export const PROVISION_STATES = ['AVAILABLE', 'ASSIGNED', 'TERMINATED'] as const;
export type ProvisionState = (typeof PROVISION_STATES)[number];

export interface Provision {
  /** `provision-<uuid>`. */
  nodeId: string;
  /** Availability zone. */
  location: string;
  host: string;
  port: number | null;
  instanceType: string;
  state: ProvisionState;
  /** Instance identifier while ASSIGNED. */
  identifier: string | null;
  group: string | null;
  role: string | null;
  launchTime: number | null;
  meta: string;
  created: number;
  updated: number;
}

export interface NewProvision {
  location: string;
  host: string;
  port: number | null;
  instanceType: string;
  meta: string;
}

export interface Assignment {
  identifier: string;
  group: string;
  role: string;
  launchTime: number;
}

export type ProvisionFilter = 'all' | 'available' | 'unavailable';

/** Thrown by insertMany when a host is already stored (the caller checked, but another writer was faster). */
export class DuplicateHostError extends Error {
  constructor(readonly hosts: string[]) {
    super(`Already provisioned: ${hosts.join(', ')}`);
    this.name = 'DuplicateHostError';
  }
}

export const PROVISION_DIR = 'Simulated-Cloud-Platform';
export const PROVISION_FILE = 'hostednodes.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS provisions (
  nodeId       TEXT PRIMARY KEY,
  location     TEXT NOT NULL,
  host         TEXT NOT NULL UNIQUE COLLATE NOCASE,
  port         INTEGER,
  instanceType TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('AVAILABLE', 'ASSIGNED', 'TERMINATED')),
  identifier   TEXT UNIQUE,
  "group"      TEXT,
  role         TEXT,
  launchTime   INTEGER,
  meta         TEXT NOT NULL DEFAULT '',
  created      INTEGER NOT NULL,
  updated      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS provisions_pool ON provisions (location, instanceType, state);
`;

export class ProvisionStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly s;
  private readonly tx;

  constructor(dataDir: string) {
    const dir = join(dataDir, PROVISION_DIR);
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, PROVISION_FILE);
    const db = (this.db = new Database(this.file));
    db.pragma('journal_mode = WAL');
    // Another manager process on the same file waits briefly instead of failing at once.
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);

    const p = <R = unknown>(sql: string) => db.prepare<unknown[], R>(sql);
    // Every statement is prepared once, here.
    const s = (this.s = {
      listAll: p<Provision>(`SELECT * FROM provisions ORDER BY created, rowid`),
      listAvailable: p<Provision>(`SELECT * FROM provisions WHERE state = 'AVAILABLE' ORDER BY created, rowid`),
      listUnavailable: p<Provision>(`SELECT * FROM provisions WHERE state <> 'AVAILABLE' ORDER BY created, rowid`),
      get: p<Provision>('SELECT * FROM provisions WHERE host = ?'),
      byIdentifier: p<Provision>(`SELECT * FROM provisions WHERE identifier = ? AND state = 'ASSIGNED'`),
      assigned: p<Provision>(`SELECT * FROM provisions WHERE state = 'ASSIGNED' ORDER BY launchTime, rowid`),
      countAvailable: p<{ n: number }>(`SELECT COUNT(*) AS n FROM provisions WHERE state = 'AVAILABLE' AND location = ? AND instanceType = ?`),
      insert: p(
        `INSERT INTO provisions (nodeId, location, host, port, instanceType, state, meta, created, updated)
         VALUES (@nodeId, @location, @host, @port, @instanceType, 'AVAILABLE', @meta, @now, @now)`,
      ),
      reserve: p<Provision>(
        `UPDATE provisions
            SET state = 'ASSIGNED', identifier = @identifier, "group" = @group, role = @role, launchTime = @launchTime, updated = @now
          WHERE nodeId = (SELECT nodeId FROM provisions
                           WHERE state = 'AVAILABLE' AND location = @zone AND instanceType = @instanceType
                           ORDER BY updated, rowid LIMIT 1)
         RETURNING *`,
      ),
      release: p<Provision>(
        `UPDATE provisions
            SET state = @to, identifier = NULL, "group" = NULL, role = NULL, launchTime = NULL, updated = @now
          WHERE identifier = @identifier AND state = 'ASSIGNED'
         RETURNING *`,
      ),
      setState: p('UPDATE provisions SET state = ?, updated = ? WHERE nodeId = ?'),
      delete: p('DELETE FROM provisions WHERE nodeId = ?'),
      deleteUnassigned: p(`DELETE FROM provisions WHERE state <> 'ASSIGNED'`),
      hosts: p<{ host: string }>(`SELECT host FROM provisions ORDER BY created, rowid`),
    });

    const get = (host: string) => s.get.get(host) ?? null;
    // Every write is one transaction, run IMMEDIATE by the methods below.
    this.tx = {
      insertMany: db.transaction((list: NewProvision[], now: number) => {
        const taken = list.filter((x) => get(x.host)).map((x) => x.host);
        if (taken.length) throw new DuplicateHostError(taken);
        return list.map((x) => {
          const nodeId = `provision-${randomUUID()}`;
          s.insert.run({ ...x, nodeId, now });
          return get(x.host)!;
        });
      }),
      reserve: db.transaction((params: Assignment & { zone: string; instanceType: string; now: number }) => s.reserve.get(params) ?? null),
      release: db.transaction((params: { identifier: string; to: 'AVAILABLE' | 'TERMINATED'; now: number }) => s.release.get(params) ?? null),
      transition: db.transaction((host: string, from: readonly ProvisionState[], to: ProvisionState, now: number) => {
        const cur = get(host);
        if (!cur || !from.includes(cur.state)) return null;
        s.setState.run(to, now, cur.nodeId);
        return get(host);
      }),
      remove: db.transaction((host: string): { removed: Provision | null; assigned: Provision | null } => {
        const cur = get(host);
        if (!cur) return { removed: null, assigned: null };
        if (cur.state === 'ASSIGNED') return { removed: null, assigned: cur };
        s.delete.run(cur.nodeId);
        return { removed: cur, assigned: null };
      }),
      removeAllUnassigned: db.transaction(() => {
        const count = s.deleteUnassigned.run().changes;
        const retained = s.hosts.all().map((r) => r.host);
        return { count, retained };
      }),
    };
  }

  list(filter: ProvisionFilter = 'all'): Provision[] {
    const st = filter === 'available' ? this.s.listAvailable : filter === 'unavailable' ? this.s.listUnavailable : this.s.listAll;
    return st.all();
  }

  get(host: string): Provision | null {
    return this.s.get.get(host) ?? null;
  }

  /** The ASSIGNED provision running this instance identifier. */
  byIdentifier(identifier: string): Provision | null {
    return this.s.byIdentifier.get(identifier) ?? null;
  }

  assigned(): Provision[] {
    return this.s.assigned.all();
  }

  countAvailable(zone: string, instanceType: string): number {
    return this.s.countAvailable.get(zone, instanceType)!.n;
  }

  /** Stores every item or none: all AVAILABLE, with fresh `provision-<uuid>` ids. */
  insertMany(items: NewProvision[], now: number): Provision[] {
    return this.tx.insertMany.immediate(items, now);
  }

  /**
   * Marks one AVAILABLE host of the zone and type ASSIGNED to the instance, in a single statement, and returns
   * it; null when the pool has none. The host idle the longest is taken, so wear spreads over the pool.
   */
  reserve(zone: string, instanceType: string, a: Assignment, now: number): Provision | null {
    return this.tx.reserve.immediate({ ...a, zone, instanceType, now });
  }

  /**
   * Ends the assignment of an instance: the host goes to `to` (AVAILABLE or TERMINATED) with its assignment
   * cleared. Null when no ASSIGNED host runs that identifier (already released: idempotent).
   */
  release(identifier: string, to: 'AVAILABLE' | 'TERMINATED', now: number): Provision | null {
    return this.tx.release.immediate({ identifier, to, now });
  }

  /** Conditional state change of one host; null when the host is absent or not in one of `from`. */
  transition(host: string, from: readonly ProvisionState[], to: ProvisionState, now: number): Provision | null {
    return this.tx.transition.immediate(host, from, to, now);
  }

  /** Deletes one host unless it is ASSIGNED. */
  remove(host: string): { removed: Provision | null; assigned: Provision | null } {
    return this.tx.remove.immediate(host);
  }

  /** Deletes every host that serves no group; returns the count removed and the hosts kept. */
  removeAllUnassigned(): { count: number; retained: string[] } {
    return this.tx.removeAllUnassigned.immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
