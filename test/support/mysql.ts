import { randomBytes } from 'node:crypto';
import { createConnection, escapeId, type Connection } from 'mysql2/promise';

export interface TestDbOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

const START_HINT =
  'Run the tests through `npm test`, which starts a throw-away MariaDB when none answers, or point ' +
  'SM_TEST_DB_HOST / SM_TEST_DB_PORT / SM_TEST_DB_USER / SM_TEST_DB_PASS at a MySQL/MariaDB server.';

function serverFromEnv() {
  const env = process.env;
  return {
    host: env.SM_TEST_DB_HOST || '127.0.0.1',
    port: Number(env.SM_TEST_DB_PORT || 3306),
    user: env.SM_TEST_DB_USER || 'root',
    password: env.SM_TEST_DB_PASS ?? '',
  };
}

/**
 * A fresh, empty database `sm_test_<pid>_<hex>` on the test server. Tests that need MySQL FAIL (never
 * skip) when the server is unreachable: the error says how to start it.
 */
export async function createTestDatabase(): Promise<{
  opts: TestDbOptions;
  /** A raw connection to the test database (for inspection and sabotage); the caller ends it. */
  connect(): Promise<Connection>;
  drop(): Promise<void>;
}> {
  const server = serverFromEnv();
  const database = `sm_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  let admin: Connection;
  try {
    admin = await createConnection({ ...server, connectTimeout: 3000 });
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    throw new Error(`Test database server ${server.user}@${server.host}:${server.port} is unreachable (${code}). ${START_HINT}`);
  }
  try {
    await admin.query(`CREATE DATABASE ${escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  const opts = { ...server, database };
  return {
    opts,
    connect: () => createConnection({ ...opts, connectTimeout: 3000 }),
    async drop() {
      const c = await createConnection({ ...server, connectTimeout: 3000 });
      try {
        await c.query(`DROP DATABASE IF EXISTS ${escapeId(database)}`);
      } finally {
        await c.end();
      }
    },
  };
}
