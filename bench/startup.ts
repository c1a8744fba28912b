import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from '../test/support/free-port.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult, BenchRow } from './run.ts';

/**
 * Start-to-ready of the manager as `npm start` runs it (compiled, `node dist/server.js`) against the
 * TypeScript sources through tsx, in the same run: spawn to the first 200 from GET /ready, and resident
 * memory then. Runs alternate so a busy machine slows both alike. Embedded store, fresh data dir each run.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_STARTUP_RUNS) || 3;

const MODES = {
  'compiled (node dist/server.js)': ['--enable-source-maps', 'dist/server.js'],
  'tsx (node --import tsx src/server.ts)': ['--import', 'tsx', 'src/server.ts'],
} as const;

async function startOnce(args: readonly string[]): Promise<{ ms: number; rssMb: number }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'sm-bench-start-'));
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, SM_SERVER_HOST: '127.0.0.1', SM_SERVER_PORT: String(port), SM_SERVER_DATADIR: dataDir, SM_SERVER_LOGLEVEL: 'warn' },
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode} before it was ready`);
      if (performance.now() - started > 60_000) throw new Error(`${args.join(' ')} was not ready within 60 s`);
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const ms = performance.now() - started;
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return { ms, rssMb: rss ? Number(rss[1]) / 1024 : Number.NaN };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runStartupBench(): Promise<BenchResult> {
  // The compiled build must be current, as `npm start` makes sure.
  const build = spawnSync(process.execPath, ['scripts/prestart.mjs'], { cwd: root, stdio: 'ignore' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const times = new Map<string, number[]>();
  const rss = new Map<string, number[]>();
  for (let i = 0; i < RUNS; i++) {
    for (const [mode, args] of Object.entries(MODES)) {
      const r = await startOnce(args);
      (times.get(mode) ?? times.set(mode, []).get(mode)!).push(r.ms);
      (rss.get(mode) ?? rss.set(mode, []).get(mode)!).push(r.rssMb);
    }
  }
  const rows: BenchRow[] = [];
  for (const mode of Object.keys(MODES)) {
    rows.push({ name: `start to ready, ${mode}`, value: median(times.get(mode)!), unit: 'ms', note: `median of ${RUNS}` });
  }
  for (const mode of Object.keys(MODES)) {
    rows.push({ name: `memory when ready, ${mode}`, value: median(rss.get(mode)!), unit: 'MB RSS', note: `median of ${RUNS}` });
  }
  return { rows };
}
