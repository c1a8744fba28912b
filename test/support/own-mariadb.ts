/**
 * A throw-away MariaDB for one test run: `mariadb-install-db` into a temp dir, `mariadbd` on a private
 * socket and a free loopback port, stopped and removed at the end. No service, no system database, no
 * root login of the machine is touched. Used by scripts/test.ts when no test server is configured or
 * answering.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './free-port.ts';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createConnection } from 'mysql2/promise';

export const INSTALL_COMMAND = 'apt-get install -y mariadb-server';
const DIR_PREFIX = 'sm-test-mariadb-';
/** Debian keeps the server in sbin, which is not on a normal user's PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin', '/usr/local/mysql/scripts'];

export interface OwnMariaDb {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Temp dir holding data, socket, pid file and error log; gone after stop(). */
  dir: string;
  /** The SM_TEST_DB_* variables that point the tests at it. */
  env: Record<string, string>;
  stop(): Promise<void>;
  /** Last resort for process exit: kill and remove synchronously. */
  stopNow(): void;
}

function findOn(searchPath: string, names: string[]): string | undefined {
  for (const dir of searchPath.split(delimiter).filter(Boolean)) {
    for (const n of names) if (existsSync(join(dir, n))) return join(dir, n);
  }
  return undefined;
}

/** The server and data-dir initialiser, or an error naming the one command that installs them. */
export function findMariaDb(searchPath = [process.env.PATH ?? '', ...EXTRA_DIRS].join(delimiter)) {
  const server = findOn(searchPath, ['mariadbd', 'mysqld']);
  const installDb = findOn(searchPath, ['mariadb-install-db', 'mysql_install_db']);
  if (!server || !installDb) {
    throw new Error(
      'No test database: no SM_TEST_DB_* server is configured, none answers as root on 127.0.0.1:3306, and no ' +
        `MariaDB server binary is installed to start one. Install it with: ${INSTALL_COMMAND}`,
    );
  }
  return { server, installDb };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills the server recorded in `dir` if the pid still is that server (pids get reused). */
function killServerOf(dir: string) {
  const pid = Number(readFileSync(join(dir, 'server.pid'), 'utf8').trim() || 0);
  if (!pid) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (cmdline.includes(dir)) process.kill(pid, 'SIGKILL');
}

/**
 * Removes servers left behind by runs that died without cleaning up (kill -9, power loss): their
 * owner pid is gone. Returns the dirs removed.
 */
export function reapStale(root = tmpdir()): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(root)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(root, name);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // being created right now, or not ours
    }
    if (owner && alive(owner)) continue;
    try {
      killServerOf(dir);
    } catch {
      // no pid file: the server never started
    }
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

function serverArgs(dir: string) {
  const asRoot = process.getuid?.() === 0;
  return [
    '--no-defaults',
    `--datadir=${join(dir, 'data')}`,
    // Small files and no fsync: the data lives for one run.
    '--innodb-log-file-size=8M',
    '--innodb-buffer-pool-size=64M',
    ...(asRoot ? ['--user=root'] : []),
  ];
}

async function waitReady(port: number, proc: ChildProcess, dir: string) {
  const deadline = Date.now() + 60_000;
  let exited = false;
  proc.once('exit', () => (exited = true));
  for (;;) {
    try {
      const c = await createConnection({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 1000 });
      await c.end();
      return;
    } catch (e) {
      const log = () => {
        try {
          return readFileSync(join(dir, 'error.log'), 'utf8').split('\n').slice(-15).join('\n');
        } catch {
          return '(no error log)';
        }
      };
      if (exited) throw new Error(`mariadbd exited during start-up:\n${log()}`);
      if (Date.now() > deadline) throw new Error(`mariadbd did not answer within 60 s (${(e as Error).message}):\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startOwnMariaDb(opts: { searchPath?: string; root?: string } = {}): Promise<OwnMariaDb> {
  const { server, installDb } = findMariaDb(opts.searchPath);
  const dir = mkdtempSync(join(opts.root ?? tmpdir(), DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  try {
    const init = spawnSync(
      installDb,
      [...serverArgs(dir), '--auth-root-authentication-method=normal', '--skip-test-db'],
      { encoding: 'utf8' },
    );
    if (init.status !== 0) throw new Error(`${installDb} failed (${init.status}):\n${init.stdout}\n${init.stderr}`);

    // A port can be taken between probing and binding: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const proc = spawn(
        server,
        [
          ...serverArgs(dir),
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--socket=${join(dir, 'mysqld.sock')}`,
          `--pid-file=${join(dir, 'server.pid')}`,
          `--log-error=${join(dir, 'error.log')}`,
          `--tmpdir=${dir}`,
          '--skip-log-bin',
          '--innodb-flush-log-at-trx-commit=0',
          '--innodb-doublewrite=0',
          '--character-set-server=utf8mb4',
          '--max-connections=500',
        ],
        // Own process group: a Ctrl-C meant for the tests does not kill the server before cleanup.
        { stdio: 'ignore', detached: true },
      );
      proc.unref();
      try {
        await waitReady(port, proc, dir);
      } catch (e) {
        if (proc.exitCode === null) proc.kill('SIGKILL');
        if (attempt < 3 && /address already in use|Can't start server/i.test((e as Error).message)) continue;
        throw e;
      }
      return handle(proc, port, dir);
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function handle(proc: ChildProcess, port: number, dir: string): OwnMariaDb {
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    password: '',
    dir,
    env: { SM_TEST_DB_HOST: '127.0.0.1', SM_TEST_DB_PORT: String(port), SM_TEST_DB_USER: 'root', SM_TEST_DB_PASS: '' },
    async stop() {
      proc.kill('SIGTERM');
      const force = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
      remove();
    },
    stopNow() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      remove();
    },
  };
}
