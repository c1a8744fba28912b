import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { ClusterStore } from '../../src/store/cluster-store.ts';
import { openClusterStore } from '../../src/store/open-store.ts';
import { openSqliteStore } from '../../src/store/sqlite-store.ts';
import { defineClusterStoreContract } from './cluster-store.contract.ts';

const root = mkdtempSync(join(tmpdir(), 'sm-sqlite-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const freshFile = () => join(root, `run-${++seq}`, 'nested', 'cluster.sqlite');

defineClusterStoreContract('sqlite (temp file)', async () => {
  const file = freshFile();
  let current: ClusterStore = openSqliteStore(file);
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = openSqliteStore(file);
      return current;
    },
    cleanup: () => current.close(),
  };
});

describe('openSqliteStore', () => {
  it('creates parent directories, enables WAL and records every schema version', async () => {
    const file = freshFile();
    const store = openSqliteStore(file);
    await store.close();
    assert.ok(existsSync(file));
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(db.prepare('SELECT version FROM schema_version ORDER BY version').all(), [{ version: 1 }, { version: 2 }, { version: 3 }]);
    } finally {
      db.close();
    }
  });

  it('does not re-apply the schema to a file that has one', async () => {
    const file = freshFile();
    await openSqliteStore(file).close();
    const indexExists = () => {
      const db = new Database(file);
      try {
        return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'nodes_group'").get() !== undefined;
      } finally {
        db.close();
      }
    };
    assert.equal(indexExists(), true);
    // An index (not a table: the store prepares statements against every table at open) that a
    // second run of the schema file (CREATE INDEX IF NOT EXISTS) would bring back.
    const db = new Database(file);
    db.exec('DROP INDEX nodes_group');
    db.close();
    await openSqliteStore(file).close();
    assert.equal(indexExists(), false);
  });

  it('upgrades a version 1 file: the new tables appear, the rows stay', async () => {
    const file = freshFile();
    await openSqliteStore(file).close();
    const db = new Database(file);
    db.exec("DROP TABLE group_settings; DROP TABLE launch_intents; DROP TABLE leases; DELETE FROM schema_version WHERE version > 1; INSERT INTO alarms (role, threshold) VALUES ('edge', 42)");
    db.close();
    const store = openSqliteStore(file);
    try {
      assert.deepEqual(await store.listGroupSettings(), []);
      assert.deepEqual(await store.listLaunchIntents(), []);
      assert.equal(await store.nextLeaseGeneration('x', 1), 1);
      assert.deepEqual(await store.listAlarms(), [{ role: 'edge', threshold: 42 }]);
    } finally {
      await store.close();
    }
  });

  it("works in memory (':memory:')", async () => {
    const store = openSqliteStore(':memory:');
    try {
      assert.equal(store.kind, 'sqlite');
      await store.createGroup({
        name: 'g',
        regions: [],
        launchConfig: 'lc',
        scalePolicy: 'sp',
        state: 'new',
        baseCapacity: 0,
        timestamp: 1,
      });
      assert.equal((await store.listGroups()).length, 1);
    } finally {
      await store.close();
    }
  });
});

describe('openClusterStore without dbHost', () => {
  it('opens <dataDir>/cluster.sqlite with an always-held local lease', async () => {
    const dataDir = join(root, 'data-dir');
    const { store, lease } = await openClusterStore(
      { dbHost: '', dbPort: 3306, dbUser: 'root', dbPass: 'unused', dbName: 'cluster' },
      dataDir,
    );
    try {
      assert.equal(store.kind, 'sqlite');
      assert.ok(existsSync(join(dataDir, 'cluster.sqlite')));
      const l = lease();
      assert.equal(await l.acquire(), true);
      assert.equal(l.held, true);
      await l.release();
      assert.equal(l.held, false);
      assert.equal(await l.acquire(), true);
    } finally {
      await store.close();
    }
  });
});
