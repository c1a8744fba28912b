import { createHash } from 'node:crypto';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import type { Lease } from './cluster-store.ts';
import { createSerial } from '../lib/serial.ts';
import { CONNECT_TIMEOUT_MS, type MysqlOptions } from './mysql-store.ts';

export interface LeaseLog {
  warn(obj: object, msg: string): void;
}

/** A lease query must never stall the autoscaler tick on a half-dead socket. */
const DEFAULT_QUERY_TIMEOUT_MS = 5000;
/** MySQL 5.7+ rejects user-lock names longer than 64 characters. */
const MAX_LOCK_NAME = 64;

function lockNameFor(name: string): string {
  if (name.length <= MAX_LOCK_NAME) return name;
  const digest = createHash('sha1').update(name).digest('hex'); // 40 chars
  return `${name.slice(0, MAX_LOCK_NAME - digest.length - 1)}-${digest}`;
}

/**
 * The autoscaler lease shared by managers on one database (design §6): a MySQL named lock held by
 * ONE dedicated connection. The server frees the lock when that connection dies (crash, network
 * loss, KILL), so another manager takes over at its next acquire(). The lock is server-wide, so the
 * name should include the database name.
 */
export function createMysqlLease(
  opts: MysqlOptions,
  lockName: string,
  log?: LeaseLog,
): Lease {
  const name = lockNameFor(lockName);
  const where = `${opts.user}@${opts.host}:${opts.port}`;
  let conn: Connection | null = null;
  let held = false;
  // acquire()/release() calls are chained so two of them never share the connection mid-query.
  const serial = createSerial();

  const drop = (c: Connection) => {
    if (conn === c) {
      conn = null;
      held = false;
    }
    c.destroy();
  };

  async function connect(): Promise<Connection> {
    const c = await createConnection({
      host: opts.host,
      port: opts.port,
      user: opts.user,
      password: opts.password,
      database: opts.database,
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableKeepAlive: true,
    });
    // Without a listener, a connection dying between calls would raise an uncaught 'error'.
    c.on('error', (err: unknown) => {
      if (held) log?.warn({ err: summary(err), lock: name }, 'autoscaler lease connection lost; lease released');
      drop(c);
    });
    conn = c;
    return c;
  }

  async function one(c: Connection, sql: string): Promise<unknown> {
    const [rows] = await c.query<RowDataPacket[]>({ sql, timeout: opts.queryTimeout ?? DEFAULT_QUERY_TIMEOUT_MS }, [name]);
    return rows[0]?.v;
  }

  return {
    get held() {
      return held;
    },

    acquire: () =>
      serial(async () => {
        let c = conn;
        try {
          if (c && held) {
            // Still ours? (cheap; also proves the connection is alive)
            if (Number(await one(c, 'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS v')) === 1) return true;
            held = false;
            log?.warn({ lock: name }, 'autoscaler lease lost');
          }
          c ??= await connect();
          held = Number(await one(c, 'SELECT GET_LOCK(?, 0) AS v')) === 1;
          return held;
        } catch (err) {
          log?.warn({ err: summary(err), lock: name, server: where }, 'autoscaler lease check failed; will reconnect');
          if (c) drop(c);
          held = false;
          return false;
        }
      }),

    abandon() {
      if (conn) drop(conn);
    },

    release: () =>
      serial(async () => {
        const c = conn;
        conn = null;
        if (!c) return;
        try {
          if (held) await one(c, 'SELECT RELEASE_LOCK(?) AS v');
          await c.end();
        } catch {
          c.destroy(); // closing the connection frees the lock anyway
        } finally {
          held = false;
        }
      }),
  };
}

/** The embedded SQLite store serves one manager instance: its lease is always held. */
export function createLocalLease(): Lease {
  let held = true;
  return {
    get held() {
      return held;
    },
    async acquire() {
      held = true;
      return true;
    },
    async release() {
      held = false;
    },
    abandon() {
      held = false;
    },
  };
}

/** Code and message only: never the connection config (which holds the password). */
function summary(err: unknown): { code?: string; message: string } {
  const e = err as { code?: unknown; message?: unknown } | null;
  return {
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    message: typeof e?.message === 'string' ? e.message : String(err),
  };
}
