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

  constructor(dataDir: string) {
    const dir = join(dataDir, PROVISION_DIR);
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, PROVISION_FILE);
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    // Another manager process on the same file waits briefly instead of failing at once.
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  list(filter: ProvisionFilter = 'all'): Provision[] {
    const where = filter === 'available' ? `WHERE state = 'AVAILABLE'` : filter === 'unavailable' ? `WHERE state <> 'AVAILABLE'` : '';
    return (this.db.prepare(`SELECT * FROM provisions ${where} ORDER BY created, rowid`).all() as Provision[]);
  }

  get(host: string): Provision | null {
    const r = this.db.prepare('SELECT * FROM provisions WHERE host = ?').get(host) as Provision | undefined;
    return r ?? null;
  }

  /** The ASSIGNED provision running this instance identifier. */
  byIdentifier(identifier: string): Provision | null {
    const r = this.db.prepare(`SELECT * FROM provisions WHERE identifier = ? AND state = 'ASSIGNED'`).get(identifier) as Provision | undefined;
    return r ?? null;
  }

  assigned(): Provision[] {
    return (this.db.prepare(`SELECT * FROM provisions WHERE state = 'ASSIGNED' ORDER BY launchTime, rowid`).all() as Provision[]);
  }

  countAvailable(zone: string, instanceType: string): number {
    const r = this.db
      .prepare(`SELECT COUNT(*) AS n FROM provisions WHERE state = 'AVAILABLE' AND location = ? AND instanceType = ?`)
      .get(zone, instanceType) as { n: number };
    return r.n;
  }

  /** Stores every item or none: all AVAILABLE, with fresh `provision-<uuid>` ids. */
  insertMany(items: NewProvision[], now: number): Provision[] {
    const run = this.db.transaction((list: NewProvision[]) => {
      const taken = list.filter((p) => this.get(p.host)).map((p) => p.host);
      if (taken.length) throw new DuplicateHostError(taken);
      const insert = this.db.prepare(
        `INSERT INTO provisions (nodeId, location, host, port, instanceType, state, meta, created, updated)
         VALUES (@nodeId, @location, @host, @port, @instanceType, 'AVAILABLE', @meta, @now, @now)`,
      );
      return list.map((p) => {
        const nodeId = `provision-${randomUUID()}`;
        insert.run({ ...p, nodeId, now });
        return this.get(p.host)!;
      });
    });
    return run.immediate(items);
  }

  /**
   * Marks one AVAILABLE host of the zone and type ASSIGNED to the instance, in a single statement, and returns
   * it; null when the pool has none. The host idle the longest is taken, so wear spreads over the pool.
   */
  reserve(zone: string, instanceType: string, a: Assignment, now: number): Provision | null {
    const run = this.db.transaction(() => {
      const r = this.db
        .prepare(
          `UPDATE provisions
              SET state = 'ASSIGNED', identifier = @identifier, "group" = @group, role = @role, launchTime = @launchTime, updated = @now
            WHERE nodeId = (SELECT nodeId FROM provisions
                             WHERE state = 'AVAILABLE' AND location = @zone AND instanceType = @instanceType
                             ORDER BY updated, rowid LIMIT 1)
           RETURNING *`,
        )
        .get({ ...a, zone, instanceType, now }) as Provision | undefined;
      return r ?? null;
    });
    return run.immediate();
  }

  /**
   * Ends the assignment of an instance: the host goes to `to` (AVAILABLE or TERMINATED) with its assignment
   * cleared. Null when no ASSIGNED host runs that identifier (already released: idempotent).
   */
  release(identifier: string, to: 'AVAILABLE' | 'TERMINATED', now: number): Provision | null {
    const run = this.db.transaction(() => {
      const r = this.db
        .prepare(
          `UPDATE provisions
              SET state = @to, identifier = NULL, "group" = NULL, role = NULL, launchTime = NULL, updated = @now
            WHERE identifier = @identifier AND state = 'ASSIGNED'
           RETURNING *`,
        )
        .get({ identifier, to, now }) as Provision | undefined;
      return r ?? null;
    });
    return run.immediate();
  }

  /** Conditional state change of one host; null when the host is absent or not in one of `from`. */
  transition(host: string, from: readonly ProvisionState[], to: ProvisionState, now: number): Provision | null {
    const run = this.db.transaction(() => {
      const cur = this.get(host);
      if (!cur || !from.includes(cur.state)) return null;
      this.db.prepare('UPDATE provisions SET state = ?, updated = ? WHERE nodeId = ?').run(to, now, cur.nodeId);
      return this.get(host);
    });
    return run.immediate();
  }

  /** Deletes one host unless it is ASSIGNED. */
  remove(host: string): { removed: Provision | null; assigned: Provision | null } {
    const run = this.db.transaction(() => {
      const cur = this.get(host);
      if (!cur) return { removed: null, assigned: null };
      if (cur.state === 'ASSIGNED') return { removed: null, assigned: cur };
      this.db.prepare('DELETE FROM provisions WHERE nodeId = ?').run(cur.nodeId);
      return { removed: cur, assigned: null };
    });
    return run.immediate();
  }

  /** Deletes every host that serves no group; returns the count removed and the hosts kept. */
  removeAllUnassigned(): { count: number; retained: string[] } {
    const run = this.db.transaction(() => {
      const count = this.db.prepare(`DELETE FROM provisions WHERE state <> 'ASSIGNED'`).run().changes;
      const retained = (this.db.prepare(`SELECT host FROM provisions ORDER BY created, rowid`).all() as { host: string }[]).map((r) => r.host);
      return { count, retained };
    });
    return run.immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
