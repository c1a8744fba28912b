import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { type ClusterStore, StoreInputError, StoreUnavailableError } from '../../src/store/cluster-store.ts';
import { openClusterStore } from '../../src/store/open-store.ts';
import { openMysqlStore, splitSqlStatements } from '../../src/store/mysql-store.ts';
import { createTestDatabase } from '../support/mysql.ts';
import { defineClusterStoreContract } from './cluster-store.contract.ts';

// One fresh database per run (fails, never skips, without a server).
const db = await createTestDatabase();
const raw: Connection = await db.connect();
after(async () => {
  await raw.end();
  await db.drop();
});

const TABLES = [
  'launch_configs',
  'scale_policies',
  'alarms',
  'node_groups',
  'nodes',
  'node_streams',
  'relations',
  'stream_provisions',
  'scale_events',
  'group_settings',
  'launch_intents',
  'leases',
];

defineClusterStoreContract('mysql', async () => {
  let current: ClusterStore = await openMysqlStore(db.opts); // applies the schema on the first call
  // Each test starts from empty tables (the database is shared by the whole run).
  for (const t of TABLES) await raw.query(`DELETE FROM ${t}`);
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await openMysqlStore(db.opts);
      return current;
    },
    cleanup: () => current.close(),
  };
});

describe('openMysqlStore', () => {
  const extra = `${db.opts.database}_x`;
  const opts = { ...db.opts, database: extra };
  before(() => raw.query(`DROP DATABASE IF EXISTS ${extra}`));
  after(() => raw.query(`DROP DATABASE IF EXISTS ${extra}`));

  const tables = async () =>
    (
      await raw.query<RowDataPacket[]>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ?', [extra])
    )[0]
      .map((r) => String(r.t))
      .sort();

  it('creates a missing database, applies the schema once and records every version up to SCHEMA_VERSION', async () => {
    const store = await openMysqlStore(opts);
    await store.close();
    assert.deepEqual(await tables(), [...TABLES, 'schema_version'].sort());
    const [rows] = await raw.query<RowDataPacket[]>(`SELECT version FROM ${extra}.schema_version`);
    assert.deepEqual(
      rows.map((r) => r.version),
      [1, 2, 3],
    );
    const [[opt]] = await raw.query<RowDataPacket[]>(
      'SELECT default_character_set_name AS cs FROM information_schema.schemata WHERE schema_name = ?',
      [extra],
    );
    assert.equal(opt.cs, 'utf8mb4');
  });

  it('does not re-apply the schema to a database that has one', async () => {
    await (await openMysqlStore(opts)).close();
    await raw.query(`DROP TABLE ${extra}.alarms`);
    const store = await openMysqlStore(opts);
    await store.close();
    // CREATE TABLE IF NOT EXISTS would have brought it back
    assert.ok(!(await tables()).includes('alarms'));
    const [rows] = await raw.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${extra}.schema_version`);
    assert.equal(Number(rows[0].n), 3);
  });

  it('upgrades a version 1 database: the new tables appear, the rows stay', async () => {
    await raw.query(`DROP DATABASE IF EXISTS ${extra}`);
    await (await openMysqlStore(opts)).close();
    await raw.query(`DROP TABLE ${extra}.group_settings`);
    await raw.query(`DROP TABLE ${extra}.launch_intents`);
    await raw.query(`DROP TABLE ${extra}.leases`);
    await raw.query(`DELETE FROM ${extra}.schema_version WHERE version > 1`);
    await raw.query(`INSERT INTO ${extra}.alarms (role, threshold) VALUES ('edge', 42)`);
    const store = await openMysqlStore(opts);
    try {
      assert.deepEqual(await store.listGroupSettings(), []);
      assert.deepEqual(await store.listLaunchIntents(), []);
      assert.equal(await store.nextLeaseGeneration('x', 1), 1);
      assert.deepEqual(await store.listAlarms(), [{ role: 'edge', threshold: 42 }]);
    } finally {
      await store.close();
    }
    const [rows] = await raw.query<RowDataPacket[]>(`SELECT version FROM ${extra}.schema_version ORDER BY version`);
    assert.deepEqual(rows.map((r) => r.version), [1, 2, 3]);
  });

  it('rejects with StoreUnavailableError when the server is unreachable', async () => {
    await assert.rejects(
      openMysqlStore({ host: '127.0.0.1', port: 1, user: 'root', password: 'top-secret-pw', database: 'x' }),
      (e: unknown) => {
        assert.ok(e instanceof StoreUnavailableError);
        assert.match(e.message, /127\.0\.0\.1:1/);
        assert.ok(!e.message.includes('top-secret-pw'));
        return true;
      },
    );
  });

  it('rejects with StoreUnavailableError, without the password, when credentials are refused', async () => {
    const password = `${db.opts.password}-wrong-secret-pw`;
    await assert.rejects(openMysqlStore({ ...db.opts, password }), (e: unknown) => {
      assert.ok(e instanceof StoreUnavailableError);
      assert.match(e.message, /ER_ACCESS_DENIED_ERROR/);
      assert.ok(!e.message.includes('wrong-secret-pw'));
      return true;
    });
  });
});

describe('openClusterStore with dbHost', () => {
  it('opens the MySQL store and a MySQL lease on that database', async () => {
    const { store, lease } = await openClusterStore(
      { dbHost: db.opts.host, dbPort: db.opts.port, dbUser: db.opts.user, dbPass: db.opts.password, dbName: db.opts.database },
      '/nonexistent-data-dir',
    );
    const l = lease();
    try {
      assert.equal(store.kind, 'mysql');
      assert.equal(await l.acquire(), true);
      const [[row]] = await raw.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS id', [
        `streammanager-autoscaler-${db.opts.database}`,
      ]);
      assert.notEqual(row.id, null);
    } finally {
      await l.release();
      await store.close();
    }
  });
});

describe('splitSqlStatements', () => {
  it('splits at semicolons ending a line and drops comment-only lines', () => {
    const text = "-- header; not a statement\nCREATE TABLE a (x int); \n\n-- c\nINSERT INTO a VALUES (1);\n-- trailing\n";
    assert.deepEqual(splitSqlStatements(text), ['CREATE TABLE a (x int)', 'INSERT INTO a VALUES (1)']);
  });
});

describe('MySQL errors of bounded, well-formed calls', () => {
  it('a value longer than a column is a StoreInputError (400) naming the limit, and writes nothing', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const store = await openMysqlStore(db.opts);
    t.after(() => store.close());
    const long = { scope: 'x'.repeat(300), name: 'cam', meta: {}, updated: 1 } as unknown as Parameters<ClusterStore['createProvision']>[0];
    await assert.rejects(store.createProvision(long), (e: Error) => e instanceof StoreInputError && /254 characters/.test(e.message) && /scope/.test(e.message));
    const streams = [{ address: '127.0.0.9', scope: 'live', name: 'ok', publishers: 1, subscribers: 0, startTime: 1 }];
    await store.replaceNodeStreams('127.0.0.9', streams);
    await assert.rejects(store.replaceNodeStreams('127.0.0.9', [...streams, { ...streams[0], name: 'n'.repeat(300) }]), StoreInputError);
    assert.deepEqual((await store.listStreams()).map((s) => s.name), ['ok'], 'the failed replace rolled back');
  });

  it('a query that does not answer within the timeout fails with StoreUnavailableError and frees its connection', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const store = await openMysqlStore({ ...db.opts, queryTimeout: 500, connectionLimit: 1 });
    t.after(() => store.close());
    const locker = await db.connect();
    t.after(() => locker.end());
    await locker.query('LOCK TABLES relations WRITE');
    await assert.rejects(store.listRelations(), (e: Error) => e instanceof StoreUnavailableError && /did not answer within 500 ms/.test(e.message));
    await locker.query('UNLOCK TABLES');
    // The one pool connection was destroyed, not leaked: the next call gets a fresh one.
    assert.deepEqual(await store.listRelations(), []);
  });
});
