-- Stream Manager cluster schema, version 3, for MySQL 5.7+ / 8.x and MariaDB 10.3+.
--
-- The manager applies this file itself when the database has no schema_version table, or one whose
-- highest version is older than SCHEMA_VERSION (src/store/schema-version.ts): every statement is
-- idempotent, so re-applying it adds the tables a newer version brings and touches nothing else.
-- A version that must change an existing table needs its own ALTER step (none so far). To apply it by hand, as with the classic product:
--   mysql -u root -p -e 'CREATE DATABASE IF NOT EXISTS cluster CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'
--   mysql -u root -p cluster < sql/cluster.sql
--
-- Conventions (classic cluster.sql): ids bigint, names varchar(255), epoch-ms timestamps bigint,
-- JSON documents in text columns (longtext, never the JSON type: MySQL 8 would reorder keys and the
-- classic documents must come back exactly as stored).
-- Every table is utf8mb4 with the binary collation: stream, node and group names are case-sensitive,
-- as they are in Red5 Pro and in the SQLite store. Composite keys stay under InnoDB's 3072-byte limit
-- (3 x varchar(255) x 4 bytes = 3060).
-- No foreign keys: cascades are done by the store inside transactions, identically on both engines.
-- Statements end with ';' at the end of a line: the store splits the file there.

CREATE TABLE IF NOT EXISTS launch_configs (
  name varchar(255) NOT NULL,
  doc longtext NOT NULL,                    -- the normalised launch configuration, JSON
  PRIMARY KEY (name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS scale_policies (
  name varchar(255) NOT NULL,
  doc longtext NOT NULL,                    -- the scale policy, JSON
  PRIMARY KEY (name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One default scale-out alarm per role.
CREATE TABLE IF NOT EXISTS alarms (
  role varchar(32) NOT NULL,
  threshold double NOT NULL,
  PRIMARY KEY (role)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS node_groups (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  name varchar(255) NOT NULL,
  regions text NOT NULL,                    -- JSON array of region names
  launch_config varchar(255) NOT NULL,
  scale_policy varchar(255) NOT NULL,
  state varchar(32) NOT NULL,
  base_capacity bigint(20) NOT NULL,
  created bigint(20) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY node_groups_name (name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS nodes (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  address varchar(255) NOT NULL,            -- the node's key: what clients and the proxy reach
  identifier varchar(255) NOT NULL,         -- cloud instance name
  group_name varchar(255) NOT NULL,
  role varchar(32) NOT NULL,
  region varchar(255) NOT NULL,
  zone varchar(255) NOT NULL,
  port int(11) NOT NULL,
  state varchar(32) NOT NULL,
  launch_config varchar(255) NOT NULL,
  instance_type varchar(255) NOT NULL,
  capacity bigint(20) NOT NULL,
  launch_time bigint(20) NOT NULL,
  last_report bigint(20) NULL,              -- null until the first report
  last_traffic bigint(20) NOT NULL,
  reporting_speed bigint(20) NOT NULL,
  publishers bigint(11) NOT NULL,
  subscribers bigint(11) NOT NULL,
  cpu double NULL,                          -- 0..1, optional in reports
  memory double NULL,
  drain_started bigint(20) NULL,
  state_reason text NULL,
  state_updated bigint(20) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY nodes_address (address),
  KEY nodes_group (group_name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Streams live on each node, as its last report (and publish/unpublish events since) say.
CREATE TABLE IF NOT EXISTS node_streams (
  address varchar(255) NOT NULL,
  scope varchar(255) NOT NULL,              -- without the leading slash, e.g. live/room1
  name varchar(255) NOT NULL,
  publishers bigint(11) NOT NULL,
  subscribers bigint(11) NOT NULL,
  start_time bigint(20) NOT NULL,
  PRIMARY KEY (address, scope, name),
  KEY node_streams_stream (scope, name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Parent -> child links (origin -> edge, relay...).
CREATE TABLE IF NOT EXISTS relations (
  group_name varchar(255) NOT NULL,
  parent varchar(255) NOT NULL,
  child varchar(255) NOT NULL,
  state varchar(32) NOT NULL,
  state_updated bigint(20) NOT NULL,
  PRIMARY KEY (parent, child),
  KEY relations_group (group_name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS stream_provisions (
  scope varchar(255) NOT NULL,
  name varchar(255) NOT NULL,
  meta longtext NOT NULL,                   -- JSON object
  updated bigint(20) NOT NULL,
  PRIMARY KEY (scope, name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Autoscaler decisions, served newest (highest id) first per group.
CREATE TABLE IF NOT EXISTS scale_events (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  group_name varchar(255) NOT NULL,
  at bigint(20) NOT NULL,
  kind varchar(32) NOT NULL,
  role varchar(32) NULL,
  node varchar(255) NULL,
  reason text NOT NULL,
  data longtext NOT NULL,                   -- JSON object: the numbers behind the decision
  PRIMARY KEY (id),
  KEY scale_events_group (group_name, id)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Autoscaling controls per group (v2): pause and scheduled limits, one JSON document per group.
CREATE TABLE IF NOT EXISTS group_settings (
  group_name varchar(255) NOT NULL,
  doc longtext NOT NULL,                    -- JSON: {paused, replaceDead, schedules: [...]}
  updated bigint(20) NOT NULL,
  PRIMARY KEY (group_name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Version 3. A launch is a durable intent (design §6): written before the cloud is asked, completed with
-- the host once the cloud acknowledged, deleted once the node row exists. The leader reconciles the rows
-- left by a crash or a lost leadership with the cloud on every tick.
CREATE TABLE IF NOT EXISTS launch_intents (
  identifier varchar(255) NOT NULL,         -- cloud instance name chosen before the launch
  group_name varchar(255) NOT NULL,
  role varchar(32) NOT NULL,
  zone varchar(255) NOT NULL,
  instance_type varchar(255) NOT NULL,
  generation bigint(20) NOT NULL,           -- lease generation of the manager that wrote it
  created bigint(20) NOT NULL,
  host varchar(255) NULL,                   -- set once the cloud acknowledged
  updated bigint(20) NOT NULL,
  PRIMARY KEY (identifier),
  KEY launch_intents_group (group_name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Version 3. Lease fencing: every gain of a named lease bumps its generation; actions carry theirs.
CREATE TABLE IF NOT EXISTS leases (
  name varchar(255) NOT NULL,
  generation bigint(20) NOT NULL,
  updated bigint(20) NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Last, so that its presence means every table above exists. INSERT IGNORE: several managers may
-- apply the schema at the same moment.
CREATE TABLE IF NOT EXISTS schema_version (
  version int(11) NOT NULL,
  applied bigint(20) NOT NULL,
  PRIMARY KEY (version)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO schema_version (version, applied) VALUES (1, CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS UNSIGNED));
INSERT IGNORE INTO schema_version (version, applied) VALUES (2, CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS UNSIGNED));
INSERT IGNORE INTO schema_version (version, applied) VALUES (3, CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS UNSIGNED));
