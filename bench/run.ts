import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * `npm run bench`: runs every benchmark suite in this process, one after the other (they would skew each
 * other if run together), prints one table and writes it to bench/RESULTS.md. A suite that is missing,
 * throws or overruns its time budget gets an error row and the others still run. Loopback only.
 */

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}
export interface BenchResult {
  rows: BenchRow[];
}

interface Suite {
  name: string;
  /** Module next to this file and the function it exports. */
  file: string;
  fn: string;
}

export const SUITES: Suite[] = [
  { name: 'broker', file: './broker.ts', fn: 'runBrokerBench' },
  { name: 'ingest', file: './ingest.ts', fn: 'runIngestBench' },
  { name: 'autoscaler', file: './autoscaler.ts', fn: 'runAutoscalerBench' },
  { name: 'proxy', file: './proxy.ts', fn: 'runProxyBench' },
  { name: 'whip', file: './whip.ts', fn: 'runWhipBench' },
  { name: 'startup', file: './startup.ts', fn: 'runStartupBench' },
];

/** Per-suite budget; 5 suites x 90 s keeps a full run under 8 minutes. */
const SUITE_TIMEOUT_MS = Number(process.env.BENCH_SUITE_TIMEOUT_MS) || 90_000;

export interface TableRow {
  name: string;
  value: string;
  unit: string;
  note: string;
}

export async function runSuite(suite: Suite, timeoutMs = SUITE_TIMEOUT_MS): Promise<TableRow[]> {
  const started = performance.now();
  try {
    // A computed specifier: a suite that does not exist yet must not break type checking of this runner.
    const mod = (await import(new URL(suite.file, import.meta.url).href)) as Record<string, unknown>;
    const run = mod[suite.fn];
    if (typeof run !== 'function') throw new Error(`${suite.file} does not export ${suite.fn}()`);
    const result = (await withTimeout(Promise.resolve((run as () => unknown)()), timeoutMs)) as BenchResult;
    if (!result || !Array.isArray(result.rows)) throw new Error(`${suite.fn}() did not return { rows: [...] }`);
    return result.rows.map((r) => ({
      name: `${suite.name}: ${r.name}`,
      value: formatValue(r.value),
      unit: r.unit ?? '',
      note: r.note ?? '',
    }));
  } catch (err) {
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    return [{ name: `${suite.name}`, value: 'error', unit: '', note: `${oneLine(err)} (after ${secs} s)` }];
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

function oneLine(err: unknown): string {
  // Paths relative to the project keep the table readable and free of the machine's layout.
  const msg = (err instanceof Error ? err.message : String(err)).split(projectRoot).join('');
  return msg.split('\n')[0].slice(0, 300);
}

export function formatValue(v: number): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

export function machineLine(now = new Date()): string {
  const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
  return `${now.toISOString()} · node ${process.version} · ${os.availableParallelism()} cores (${cpu}) · ${os.platform()} ${os.arch()}`;
}

/** Plain-text table for the terminal (columns padded). */
export function textTable(rows: TableRow[]): string {
  const head: TableRow = { name: 'name', value: 'value', unit: 'unit', note: 'note' };
  const all = [head, ...rows];
  const w = (k: keyof TableRow) => Math.max(...all.map((r) => r[k].length));
  const [wn, wv, wu] = [w('name'), w('value'), w('unit')];
  const line = (r: TableRow) => `${r.name.padEnd(wn)} | ${r.value.padStart(wv)} | ${r.unit.padEnd(wu)} | ${r.note}`.trimEnd();
  return [line(head), `${'-'.repeat(wn)}-+-${'-'.repeat(wv)}-+-${'-'.repeat(wu)}-+-${'-'.repeat(4)}`, ...rows.map(line)].join('\n');
}

export function markdownTable(rows: TableRow[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return ['| name | value | unit | note |', '| --- | ---: | --- | --- |', ...rows.map((r) => `| ${esc(r.name)} | ${esc(r.value)} | ${esc(r.unit)} | ${esc(r.note)} |`)].join('\n');
}

async function main() {
  const header = machineLine();
  process.stdout.write(`Stream Manager benchmarks\n${header}\n\n`);
  const rows: TableRow[] = [];
  for (const suite of SUITES) {
    process.stdout.write(`running ${suite.name}...\n`);
    rows.push(...(await runSuite(suite)));
  }
  process.stdout.write('\n' + textTable(rows) + '\n');
  const md = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts). ${header}.`,
    '',
    'Ratios compare against a bare Fastify route measured in the same run on the same machine (design §9);',
    'absolute numbers depend on the machine.',
    '',
    markdownTable(rows),
    '',
  ].join('\n');
  const out = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
  writeFileSync(out, md);
  process.stdout.write(`\nwritten to ${out}\n`);
  const failed = rows.filter((r) => r.value === 'error').length;
  // Suites may leave sockets or timers behind; the run is over either way.
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`bench runner failed: ${oneLine(err)}\n`);
    process.exit(2);
  });
}
