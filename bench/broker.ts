import { fork, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { createHttpApp } from '../src/app.ts';
import { createLogger } from '../src/lib/logger.ts';
import { systemClock } from '../src/lib/clock.ts';
import { configSchema } from '../src/config/schema.ts';
import { ClusterView } from '../src/cluster/view.ts';
import type { ClusterNode } from '../src/domain/types.ts';
import { createBroker } from '../src/broker/broker.ts';
import { brokerRoutes } from '../src/http/routes/broker.ts';
import { brokerFastPath } from '../src/http/broker-fast-path.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { makeNode } from '../test/support/node-fixture.ts';

/**
 * Broker benchmark (design §9): subscribe requests per second and p50/p99 latency of
 * `GET /streammanager/api/4.0/event/live/{stream}?action=subscribe` against a bare Fastify JSON route
 * measured in the same run, same machine, same load generator and concurrency, on three clusters with
 * 10,000 live streams each (issue 14):
 *   - spread: 1,000 nodes, 100 groups × (1 origin + 9 edges);
 *   - wide fan-out: 1,000 nodes, 1 origin + 999 edges (a big live event: every subscribe may go to any edge);
 *   - 10,000 nodes: 1,000 groups × (1 origin + 9 edges).
 *
 * The server runs in this process; the load generator runs in a child process (a keep-alive raw-socket
 * HTTP/1.1 client, one request in flight per connection), so on 2 cores each side has its own core.
 * Targets are measured in interleaved rounds (bare, subscribe, broadcast, bare, ...) so that slow changes in
 * the machine's load hit all of them alike; the server's CPU time per request is reported too, as a
 * measure that other processes on the machine disturb less than throughput.
 * Loopback only; every phase has a fixed duration; the run stops by itself.
 *
 * Runnable alone: `npx tsx bench/broker.ts`.
 */

interface Topology {
  /** Origins + edges. */
  name: string;
  groups: number;
  edgesPerGroup: number;
}
const SPREAD: Topology = { name: 'spread 100+900', groups: 100, edgesPerGroup: 9 };
const WIDE: Topology = { name: 'wide 1+999', groups: 1, edgesPerGroup: 999 };
const HUGE: Topology = { name: '10k nodes 1000+9000', groups: 1000, edgesPerGroup: 9 };
const STREAMS = 10_000;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS) || 32;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS) || 5_000;
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS) || 1_000;
/** Each target is measured in ROUNDS interleaved slices adding up to PHASE_MS. */
const ROUNDS = Number(process.env.BENCH_ROUNDS) || 5;

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export interface LoadSpec {
  port: number;
  paths: string[];
  /** Whole requests (head and body) sent instead of GETs of `paths`. */
  raw?: string[];
  connections: number;
  durationMs: number;
}

export interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  elapsedMs: number;
  p50: number;
  p99: number;
}

// ---------------------------------------------------------------- the cluster

function buildView(now: number, { groups: GROUPS, edgesPerGroup: EDGES_PER_GROUP }: Topology): ClusterView {
  const view = new ClusterView();
  const mk = (address: string, group: string, role: ClusterNode['role']): ClusterNode =>
    makeNode(address, now, {
      group,
      role,
      instanceType: 'bench',
      // Large enough that the hand-outs of the whole run never fill a node (no reports arrive meanwhile).
      capacity: 10_000_000,
      // Long reporting period: nodes stay "responsive" for the whole run without reports.
      reportingSpeed: 3_600_000,
      cpu: 0.3,
      memory: 0.4,
    });
  for (let g = 0; g < GROUPS; g++) {
    const group = `g${g}`;
    const origin = nodeAddress(g, 0);
    view.setNode({ ...mk(origin, group, 'origin'), connections: { publishers: STREAMS / GROUPS, subscribers: 0 } });
    for (let e = 0; e < EDGES_PER_GROUP; e++) {
      const edge = nodeAddress(g, 1 + e);
      view.setNode({ ...mk(edge, group, 'edge'), connections: { publishers: 0, subscribers: (e * 37) % 100 } });
      view.setRelation({ group, parent: origin, child: edge, state: 'established', stateUpdated: now });
    }
  }
  for (let s = 0; s < STREAMS; s++) {
    const g = s % GROUPS;
    view.addStream({ address: nodeAddress(g, 0), scope: 'live', name: `stream${s}`, publishers: 1, subscribers: 0, startTime: now });
  }
  return view;
}

/** Node `i` of group `g` (origin 0): 10.g.x.y, up to 65,536 nodes per group. */
const nodeAddress = (g: number, i: number) => `10.${g & 255}.${(g >> 8) * 4 + (i >> 8)}.${i & 255}`;

// ---------------------------------------------------------------- load generator (child process)

/** Keep-alive HTTP/1.1 GETs over raw sockets, one in flight per connection; latency per request. */
function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const requests = spec.raw
    ? spec.raw.map((r) => Buffer.from(r, 'utf8'))
    : spec.paths.map((p) => Buffer.from(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`, 'latin1'));
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + spec.durationMs;
  return new Promise((resolve) => {
    let open = spec.connections;
    const done = () => {
      if (--open > 0) return;
      const elapsedMs = performance.now() - started;
      const sorted = Float64Array.from(latencies).sort();
      const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : NaN);
      resolve({ requests: latencies.length, non2xx, errors, elapsedMs, p50: pct(50), p99: pct(99) });
    };
    for (let c = 0; c < spec.connections; c++) {
      const sock = connect({ host: '127.0.0.1', port: spec.port });
      sock.setNoDelay(true);
      let buf = '';
      let sentAt = 0;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        sock.destroy();
        done();
      };
      const send = () => {
        if (performance.now() >= deadline) return finish();
        sentAt = performance.now();
        sock.write(requests[next++ % requests.length]);
      };
      sock.setEncoding('latin1');
      sock.on('connect', send);
      sock.on('data', (chunk: string) => {
        buf += chunk;
        for (;;) {
          const headEnd = buf.indexOf('\r\n\r\n');
          if (headEnd < 0) return;
          const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.slice(0, headEnd));
          const total = headEnd + 4 + (m ? Number(m[1]) : 0);
          if (buf.length < total) return;
          const status = buf.charCodeAt(9) - 48; // "HTTP/1.1 2xx"
          if (status !== 2) non2xx++;
          latencies.push(performance.now() - sentAt);
          buf = buf.slice(total);
          send();
        }
      });
      sock.on('error', () => {
        errors++;
        finish();
      });
      sock.on('close', finish);
    }
  });
}

/** The child side: runs each load spec it is sent and answers with the result. */
function clientMain() {
  process.on('message', async (msg: { spec: LoadSpec } | 'exit') => {
    if (msg === 'exit') process.exit(0);
    process.send!(await generateLoad(msg.spec));
  });
  process.send!('ready');
}

export function startClient(): Promise<{ child: ChildProcess; run: (spec: LoadSpec) => Promise<LoadResult> }> {
  const child = fork(fileURLToPath(import.meta.url), ['--bench-client'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bench client exited early (code ${code})`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.once('message', (m) => {
      if (m !== 'ready') return reject(new Error('bench client did not start'));
      const run = (spec: LoadSpec) =>
        new Promise<LoadResult>((res, rej) => {
          const timer = setTimeout(() => rej(new Error('bench client did not answer')), spec.durationMs + 30_000);
          child.once('message', (r) => {
            clearTimeout(timer);
            res(r as LoadResult);
          });
          child.send({ spec });
        });
      resolve({ child, run });
    });
  });
}

// ---------------------------------------------------------------- the run

interface Phase {
  name: string;
  port: number;
  paths: string[];
}

interface Totals {
  requests: number;
  non2xx: number;
  errors: number;
  elapsedMs: number;
  /** Server CPU (user + system) spent during the phase, µs. */
  cpuMicros: number;
  p50: number[];
  p99: number[];
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

/** The real shell, metrics and the broker's fast path on one cluster: what `npm start` serves. */
async function brokerApp(topology: Topology) {
  const clock = systemClock;
  // The load comes from one address: the per-client limit (broker.rateLimitPerSecond) is off, as
  // SM_BROKER_RATELIMITPERSECOND=0 would set it (and no limiter is handed to the routes below).
  const config = configSchema.parse({ broker: { rateLimitPerSecond: 0 } });
  const t0 = performance.now();
  const view = buildView(clock.now(), topology);
  const provisions = { has: () => false };
  const broker = createBroker({ view, clock, config, regions: ['us-test1'], provisions });
  const buildMs = performance.now() - t0;
  // Default log level (info) into a sink: what an operator runs, without terminal cost.
  const log = createLogger('info', { write() {} });
  const metrics = createMetrics({ view, clock });
  const brokerDeps = { broker, view, clock, config, regions: ['us-test1'], observe: (r: string, m: string, s: number) => metrics.observeRequest(r, m, s) };
  const app = await createHttpApp({
    log,
    adminToken: 'bench',
    metrics,
    routes: {
      root: [],
      admin: [],
      hot: [brokerRoutes(brokerDeps)],
      fast: [brokerFastPath(brokerDeps)],
      public: [
        // The same trivial handler as the bare route, inside the app's shell (hooks, logger, API prefix):
        // tells the shell's share of the gap from the broker's.
        async (a) => {
          a.get('/bench/ping', () => ({ ok: true }));
        },
      ],
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  // Sanity: the route answers what it should before anything is measured.
  const probe = await app.inject('/streammanager/api/4.0/event/live/stream0?action=subscribe');
  if (probe.statusCode !== 200) throw new Error(`broker probe answered ${probe.statusCode}: ${probe.body}`);
  return { app, port: (app.server.address() as AddressInfo).port, buildMs };
}

export async function runBrokerBench(): Promise<{ rows: BenchRow[] }> {
  const bare = Fastify();
  bare.get('/bare', () => ({ ok: true }));
  const apps: Awaited<ReturnType<typeof brokerApp>>[] = [];
  const client = await startClient();
  try {
    const [spread, wide, huge] = [await brokerApp(SPREAD), await brokerApp(WIDE), await brokerApp(HUGE)];
    apps.push(spread, wide, huge);
    await bare.listen({ port: 0, host: '127.0.0.1' });
    const barePort = (bare.server.address() as AddressInfo).port;

    const subscribePaths = Array.from({ length: STREAMS }, (_, i) => `/streammanager/api/4.0/event/live/stream${(i * 7919) % STREAMS}?action=subscribe`);
    const broadcastPaths = Array.from({ length: 100_000 }, (_, i) => `/streammanager/api/4.0/event/live/new${i}?action=broadcast`);

    const phases: Phase[] = [
      { name: 'bare', port: barePort, paths: ['/bare'] },
      { name: 'shell', port: spread.port, paths: ['/streammanager/api/4.0/bench/ping'] },
      { name: 'subscribe', port: spread.port, paths: subscribePaths },
      { name: 'broadcast', port: spread.port, paths: broadcastPaths },
      { name: 'wide', port: wide.port, paths: subscribePaths },
      { name: 'huge', port: huge.port, paths: subscribePaths },
      { name: 'huge-broadcast', port: huge.port, paths: broadcastPaths },
    ];
    for (const ph of phases) await client.run({ port: ph.port, paths: ph.paths, connections: CONNECTIONS, durationMs: WARMUP_MS });

    // Interleaved rounds: slow changes in the machine's load hit every target alike.
    const totals = new Map<string, Totals>();
    const roundMs = Math.max(200, Math.round(PHASE_MS / ROUNDS));
    for (let round = 0; round < ROUNDS; round++) {
      for (const ph of phases) {
        const cpu0 = process.cpuUsage();
        const r = await client.run({ port: ph.port, paths: ph.paths, connections: CONNECTIONS, durationMs: roundMs });
        const cpu = process.cpuUsage(cpu0);
        let t = totals.get(ph.name);
        if (!t) totals.set(ph.name, (t = { requests: 0, non2xx: 0, errors: 0, elapsedMs: 0, cpuMicros: 0, p50: [], p99: [] }));
        t.requests += r.requests;
        t.non2xx += r.non2xx;
        t.errors += r.errors;
        t.elapsedMs += r.elapsedMs;
        t.cpuMicros += cpu.user + cpu.system;
        t.p50.push(r.p50);
        t.p99.push(r.p99);
      }
    }

    const b = totals.get('bare')!;
    const sh = totals.get('shell')!;
    const rps = (t: Totals) => (t.requests / t.elapsedMs) * 1000;
    const cpuPerReq = (t: Totals) => t.cpuMicros / t.requests;
    const note = (t: Totals, extra = '') =>
      (t.non2xx || t.errors ? `${t.non2xx} non-2xx, ${t.errors} socket errors; ` : '') + `${CONNECTIONS} connections, ${ROUNDS} × ${roundMs / 1000} s${extra}`;
    /** Rows of one subscribe (or broadcast) target against the bare route. */
    const target = (label: string, t: Totals, goal: string): BenchRow[] => [
      { name: label, value: rps(t), unit: 'req/s', note: note(t) },
      { name: `${label} p50`, value: median(t.p50), unit: 'ms', note: 'median of rounds' },
      { name: `${label} p99`, value: median(t.p99), unit: 'ms', note: 'median of rounds' },
      { name: `${label} server CPU`, value: cpuPerReq(t), unit: 'µs/req' },
      { name: `${label} / bare throughput`, value: rps(t) / rps(b), unit: 'ratio', note: goal },
      { name: `${label} / bare p99`, value: median(t.p99) / median(b.p99), unit: 'ratio', note: 'target ≤ 2' },
    ];
    const rows: BenchRow[] = [
      { name: `view build, ${SPREAD.name}`, value: spread.buildMs, unit: 'ms', note: '10,000 streams; candidate heaps included' },
      { name: `view build, ${WIDE.name}`, value: wide.buildMs, unit: 'ms', note: '10,000 streams' },
      { name: `view build, ${HUGE.name}`, value: huge.buildMs, unit: 'ms', note: '10,000 streams' },
      { name: 'bare Fastify JSON route', value: rps(b), unit: 'req/s', note: note(b) },
      { name: 'bare Fastify p50', value: median(b.p50), unit: 'ms', note: 'median of rounds' },
      { name: 'bare Fastify p99', value: median(b.p99), unit: 'ms', note: 'median of rounds' },
      { name: 'bare Fastify server CPU', value: cpuPerReq(b), unit: 'µs/req' },
      { name: 'shell trivial route', value: rps(sh), unit: 'req/s', note: 'same handler as bare, in the app shell under /streammanager/api/4.0' },
      { name: 'shell / bare throughput', value: rps(sh) / rps(b), unit: 'ratio', note: "the shell's own cost (src/app.ts hooks, per-request logger)" },
      ...target(`subscribe, ${SPREAD.name}`, totals.get('subscribe')!, 'target ≥ 0.80'),
      ...target(`subscribe, ${WIDE.name}`, totals.get('wide')!, 'target ≥ 0.80'),
      ...target(`subscribe, ${HUGE.name}`, totals.get('huge')!, 'target ≥ 0.70'),
      ...target(`broadcast (new streams), ${SPREAD.name}`, totals.get('broadcast')!, 'least-loaded of 100 origins'),
      ...target(`broadcast (new streams), ${HUGE.name}`, totals.get('huge-broadcast')!, 'least-loaded of 1,000 origins'),
    ];
    return { rows };
  } finally {
    client.child.send('exit');
    await Promise.allSettled([...apps.map((a) => a.app.close()), bare.close()]);
    if (client.child.exitCode === null) {
      await new Promise<void>((r) => {
        const timer = setTimeout(() => {
          client.child.kill();
          r();
        }, 2_000);
        client.child.once('exit', () => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }
}

if (process.argv.includes('--bench-client')) {
  clientMain();
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runBrokerBench().then(
    ({ rows }) => {
      for (const r of rows) {
        const v = Number.isInteger(r.value) ? String(r.value) : r.value >= 100 ? r.value.toFixed(0) : r.value.toPrecision(3);
        process.stdout.write(`${r.name.padEnd(44)} ${v.padStart(10)} ${r.unit.padEnd(6)} ${r.note ?? ''}\n`);
      }
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`broker bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
