-- Stream Manager cluster schema, version 3, for the embedded SQLite store (src/store/sqlite-store.ts).
-- The same logical schema as sql/cluster.sql (same tables, columns and keys); applied in one
-- transaction when the file has no schema_version table or an older version (every statement is idempotent).
-- No foreign keys: cascades are done by the store inside transactions, identically on both engines.
-- Ids use AUTOINCREMENT so that they are never reused, as with MySQL: scale events are ordered by id.

CREATE TABLE IF NOT EXISTS launch_configs (
  name TEXT NOT NULL PRIMARY KEY,
  doc TEXT NOT NULL                         -- the normalised launch configuration, JSON
);

CREATE TABLE IF NOT EXISTS scale_policies (
  name TEXT NOT NULL PRIMARY KEY,
  doc TEXT NOT NULL                         -- the scale policy, JSON
);

CREATE TABLE IF NOT EXISTS alarms (
  role TEXT NOT NULL PRIMARY KEY,
  threshold REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS node_groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  regions TEXT NOT NULL,                    -- JSON array of region names
  launch_config TEXT NOT NULL,
  scale_policy TEXT NOT NULL,
  state TEXT NOT NULL,
  base_capacity INTEGER NOT NULL,
  created INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS nodes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  address TEXT NOT NULL UNIQUE,
  identifier TEXT NOT NULL,
  group_name TEXT NOT NULL,
  role TEXT NOT NULL,
  region TEXT NOT NULL,
  zone TEXT NOT NULL,
  port INTEGER NOT NULL,
  state TEXT NOT NULL,
  launch_config TEXT NOT NULL,
  instance_type TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  launch_time INTEGER NOT NULL,
  last_report INTEGER,
  last_traffic INTEGER NOT NULL,
  reporting_speed INTEGER NOT NULL,
  publishers INTEGER NOT NULL,
  subscribers INTEGER NOT NULL,
  cpu REAL,
  memory REAL,
  drain_started INTEGER,
  state_reason TEXT,
  state_updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_group ON nodes (group_name);

CREATE TABLE IF NOT EXISTS node_streams (
  address TEXT NOT NULL,
  scope TEXT NOT NULL,
  name TEXT NOT NULL,
  publishers INTEGER NOT NULL,
  subscribers INTEGER NOT NULL,
  start_time INTEGER NOT NULL,
  PRIMARY KEY (address, scope, name)
);
CREATE INDEX IF NOT EXISTS node_streams_stream ON node_streams (scope, name);

CREATE TABLE IF NOT EXISTS relations (
  group_name TEXT NOT NULL,
  parent TEXT NOT NULL,
  child TEXT NOT NULL,
  state TEXT NOT NULL,
  state_updated INTEGER NOT NULL,
  PRIMARY KEY (parent, child)
);
CREATE INDEX IF NOT EXISTS relations_group ON relations (group_name);

CREATE TABLE IF NOT EXISTS stream_provisions (
  scope TEXT NOT NULL,
  name TEXT NOT NULL,
  meta TEXT NOT NULL,                       -- JSON object
  updated INTEGER NOT NULL,
  PRIMARY KEY (scope, name)
);

CREATE TABLE IF NOT EXISTS scale_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_name TEXT NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  role TEXT,
  node TEXT,
  reason TEXT NOT NULL,
  data TEXT NOT NULL                        -- JSON object
);
CREATE INDEX IF NOT EXISTS scale_events_group ON scale_events (group_name, id);

CREATE TABLE IF NOT EXISTS group_settings (
  group_name TEXT NOT NULL PRIMARY KEY,
  doc TEXT NOT NULL,                        -- JSON: {paused, replaceDead, schedules: [...]}
  updated INTEGER NOT NULL
);

-- Version 3: durable launch intents (see sql/cluster.sql).
CREATE TABLE IF NOT EXISTS launch_intents (
  identifier TEXT NOT NULL PRIMARY KEY,
  group_name TEXT NOT NULL,
  role TEXT NOT NULL,
  zone TEXT NOT NULL,
  instance_type TEXT NOT NULL,
  generation INTEGER NOT NULL,
  created INTEGER NOT NULL,
  host TEXT,
  updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS launch_intents_group ON launch_intents (group_name);

-- Version 3: lease generations (fencing).
CREATE TABLE IF NOT EXISTS leases (
  name TEXT NOT NULL PRIMARY KEY,
  generation INTEGER NOT NULL,
  updated INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER NOT NULL PRIMARY KEY,
  applied INTEGER NOT NULL
);

INSERT OR IGNORE INTO schema_version (version, applied)
  VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
INSERT OR IGNORE INTO schema_version (version, applied)
  VALUES (2, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
INSERT OR IGNORE INTO schema_version (version, applied)
  VALUES (3, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
