import { join } from 'node:path';
import type { ClusterStore, Lease } from './cluster-store.ts';
import { createLocalLease, createMysqlLease, type LeaseLog } from './mysql-lease.ts';
import { openMysqlStore } from './mysql-store.ts';
import { openSqliteStore } from './sqlite-store.ts';

export interface StoreConfig {
  dbHost: string;
  dbPort: number;
  dbUser: string;
  dbPass: string;
  dbName: string;
  dbQueryTimeout?: number;
  dbQueueLimit?: number;
}

/**
 * Picks the cluster store from the `config.db*` keys (design §3): no `dbHost` → the embedded SQLite
 * file `<dataDir>/cluster.sqlite` with an always-held lease (one instance); otherwise MySQL, shared by
 * every manager on that database, with the autoscaler lease as a named lock per database.
 * `lease()` makes a new lease each call (each holds its own connection); call it once per process.
 */
export async function openClusterStore(
  cfg: StoreConfig,
  dataDir: string,
): Promise<{ store: ClusterStore; lease: (log?: LeaseLog) => Lease }> {
  if (!cfg.dbHost) {
    return { store: openSqliteStore(join(dataDir, 'cluster.sqlite')), lease: () => createLocalLease() };
  }
  const opts = {
    host: cfg.dbHost,
    port: cfg.dbPort,
    user: cfg.dbUser,
    password: cfg.dbPass,
    database: cfg.dbName,
    queryTimeout: cfg.dbQueryTimeout,
    queueLimit: cfg.dbQueueLimit,
  };
  const store = await openMysqlStore(opts);
  return { store, lease: (log) => createMysqlLease(opts, `streammanager-autoscaler-${cfg.dbName}`, log) };
}
