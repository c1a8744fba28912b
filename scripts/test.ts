/**
 * `npm test` after the type check: picks the test database, then runs `node --test` with the given
 * arguments. With SM_TEST_DB_* set the tests use that server; else root@127.0.0.1:3306 if it lets
 * root in; else a throw-away MariaDB this run starts and removes (test/support/own-mariadb.ts).
 * SM_TEST_DB_OWN=1 forces the throw-away server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'mysql2/promise';
import { reapStale, startOwnMariaDb, type OwnMariaDb } from '../test/support/own-mariadb.ts';

const env = process.env;
const configured = ['HOST', 'PORT', 'USER', 'PASS'].some((k) => env[`SM_TEST_DB_${k}`] !== undefined);

async function defaultServerLetsRootIn(): Promise<boolean> {
  try {
    const c = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '', connectTimeout: 2000 });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

let own: OwnMariaDb | undefined;
let child: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;
// Handlers first, so a kill during start-up still cleans up. A terminal's Ctrl-C reaches the test
// runner itself (same process group); a kill aimed at us is passed on.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    interrupted = sig;
    child?.kill(sig);
  });
}

if (env.SM_TEST_DB_OWN === '1' || (!configured && !(await defaultServerLetsRootIn()))) {
  reapStale();
  try {
    own = await startOwnMariaDb();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
  process.on('exit', () => own?.stopNow());
  process.stdout.write(`test database: own MariaDB on 127.0.0.1:${own.port} (${own.dir}, removed at the end)\n`);
}

if (interrupted) process.exit(1);
child = spawn(process.execPath, ['--import', 'tsx', '--test', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...env, ...own?.env },
});

const code = await new Promise<number>((resolve) => child!.on('exit', (c) => resolve(c ?? 1)));
await own?.stop();
own = undefined;
process.exit(code);
