/**
 * Version of sql/cluster.sql and sql/cluster.sqlite.sql. A store whose schema_version table is missing or
 * older applies the whole file again at open: every statement there is idempotent (IF NOT EXISTS, INSERT
 * IGNORE), so a new version's tables appear and existing rows stay as they are.
 * 2: group_settings (pause, schedules).
 * 3: launch_intents (durable launches), leases (lease generations for fencing).
 */
export const SCHEMA_VERSION = 3;
