/**
 * WHIP/WHEP benchmark (loopback only, bounded, stops by itself).
 *
 * One round trip is a whole session's signalling: POST the SDP offer, read the answer, DELETE the session
 * URL from its Location. Measured in one run with the same load generator, interleaved in rounds:
 *   direct   client → simulated node (`/live/whip|whep/endpoint/…`, DELETE on the node's Location)
 *   manager  client → this project's relay (`/as/v1/proxy/whip|whep/…`: broker decision, undici to the
 *            node, Location rewritten; DELETE on the manager's session URL) → the same node
 * Rows: round trips per second for both and their ratio (target ≥ 0.8), and the median latency of both.
 *
 * Three processes: the manager (this one: the real HTTP shell, broker, view and relay), the simulated node
 * and the load generator (children), so each can have a core; on 2 cores they share two.
 *
 * Run alone: `npx tsx bench/whip.ts`; `npm run bench` calls runWhipBench().
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

const SIM_HOST = '127.0.0.2';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS) || 16;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS) || 4_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS) || 3;
const OFFER =
  'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n' +
  'a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n' +
  'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n' +
  'm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:96 H264/90000\r\n';

interface LoadSpec {
  origin: string;
  /** POST targets, used in turn. */
  paths: string[];
  connections: number;
  durationMs: number;
}

interface LoadResult {
  roundTrips: number;
  errors: number;
  elapsedMs: number;
  p50: number;
  firstError?: string;
}

// ---------------------------------------------------------------- children

/** POST offer + DELETE Location, one session at a time per connection. */
async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const pool = new Pool(spec.origin, { connections: spec.connections, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const deadline = started + spec.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: spec.paths[next++ % spec.paths.length], method: 'POST', headers: { 'content-type': 'application/sdp' }, body: OFFER });
        await res.body.text();
        const location = res.headers.location;
        if (res.statusCode !== 201 || typeof location !== 'string') throw new Error(`POST answered ${res.statusCode}`);
        const del = await pool.request({ path: new URL(location, spec.origin).pathname, method: 'DELETE' });
        await del.body.text();
        if (del.statusCode !== 200) throw new Error(`DELETE answered ${del.statusCode}`);
        latencies.push(performance.now() - t0);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, worker));
  const elapsedMs = performance.now() - started;
  await pool.close();
  const sorted = Float64Array.from(latencies).sort();
  return { roundTrips: latencies.length, errors, elapsedMs, p50: sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN, ...(firstError ? { firstError } : {}) };
}

async function childMain(role: string) {
  if (role === 'sim') {
    const { startSimNode } = await import('../src/sim/node-sim.ts');
    // Reports go nowhere: the manager's view is built directly (below); wsKeep 1 keeps the request log short.
    const node = await startSimNode({ host: SIM_HOST, port: 0, manager: 'http://127.0.0.1:1', clusterPassword: 'x', autoReport: false, wsKeep: 1 });
    process.send!({ type: 'ready', port: node.port });
  } else {
    process.on('message', async (m: { spec: LoadSpec }) => process.send!({ type: 'result', result: await generateLoad(m.spec) }));
    process.send!({ type: 'ready', port: 0 });
  }
}

function startChild(role: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--whip-bench-child', role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${role} child exited early (code ${code})`)));
    child.once('message', (m: { type: string; port: number }) => (m.type === 'ready' ? resolve({ child, port: m.port }) : reject(new Error(`${role} child did not start`))));
  });
}

function runLoad(child: ChildProcess, spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('load generator did not answer')), spec.durationMs + 30_000);
    child.once('message', (m: { type: string; result: LoadResult }) => {
      clearTimeout(timer);
      resolve(m.result);
    });
    child.send({ spec });
  });
}

// ---------------------------------------------------------------- the run

export async function runWhipBench(): Promise<{ rows: BenchRow[] }> {
  const { createHttpApp } = await import('../src/app.ts');
  const { createLogger } = await import('../src/lib/logger.ts');
  const { systemClock } = await import('../src/lib/clock.ts');
  const { configSchema } = await import('../src/config/schema.ts');
  const { ClusterView } = await import('../src/cluster/view.ts');
  const { createBroker } = await import('../src/broker/broker.ts');
  const { brokerReader } = await import('../src/http/routes/broker.ts');
  const { whipRoutes } = await import('../src/http/routes/whip.ts');
  const { createWhipProxy } = await import('../src/proxy/whip-relay.ts');
  const { createMetrics } = await import('../src/metrics/metrics.ts');
  const { makeNode } = await import('../test/support/node-fixture.ts');

  const sim = await startChild('sim');
  const load = await startChild('load');
  try {
    const clock = systemClock;
    // One client address drives every session: the per-client caps are off, as
    // SM_BROKER_RATELIMITPERSECOND=0 SM_PROXY_MAXSESSIONSPERCLIENT=0 would set them.
    const config = configSchema.parse({ broker: { rateLimitPerSecond: 0 }, proxy: { maxSessionsPerClient: 0 } });
    const now = clock.now();
    // The simulated node as the manager would know it after its reports: an in-service origin with a live
    // stream (WHEP), in a group without edges (so it serves subscribers itself), never full, never stale.
    const view = new ClusterView();
    view.setNode(makeNode(SIM_HOST, now, { role: 'origin', port: sim.port, capacity: 100_000_000, reportingSpeed: 3_600_000, connections: { publishers: 1, subscribers: 0 } }));
    view.addStream({ address: SIM_HOST, scope: 'live', name: 'show', publishers: 1, subscribers: 0, startTime: now });
    const broker = createBroker({ view, clock, config, regions: ['us-test1'], provisions: { has: () => false } });
    const log = createLogger('info', { write() {} });
    const metrics = createMetrics({ view, clock });
    const resolveTarget = (host: string) => {
      const n = view.nodes.get(host);
      return n && (n.state === 'inservice' || n.state === 'draining') ? { host: n.address, port: n.port } : null;
    };
    const whip = createWhipProxy({ config: config.proxy, log, clock, resolveTarget });
    const read = brokerReader({ broker, view, clock, config, regions: ['us-test1'] });
    // The real shell (error handling, metrics hook), as `npm start` serves the relay.
    const app = await createHttpApp({ log, adminToken: 'bench', metrics, routes: { root: [whipRoutes({ whip, read })], admin: [], public: [] } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const managerPort = (app.server.address() as AddressInfo).port;

    const direct = `http://${SIM_HOST}:${sim.port}`;
    const manager = `http://127.0.0.1:${managerPort}`;
    const streams = Array.from({ length: 64 }, (_, i) => `s${i}`);
    const targets = [
      { name: 'whip direct', origin: direct, paths: streams.map((s) => `/live/whip/endpoint/${s}`) },
      { name: 'whip manager', origin: manager, paths: streams.map((s) => `/as/v1/proxy/whip/live/${s}`) },
      { name: 'whep direct', origin: direct, paths: ['/live/whep/endpoint/show'] },
      { name: 'whep manager', origin: manager, paths: ['/as/v1/proxy/whep/live/show'] },
    ];
    const totals = new Map(targets.map((t) => [t.name, { roundTrips: 0, errors: 0, elapsedMs: 0, cpuMicros: 0, p50: [] as number[], firstError: undefined as string | undefined }]));
    // Warm-up (JIT, connection pools), then interleaved rounds so drifts of the machine's load hit all alike.
    for (const t of targets) await runLoad(load.child, { origin: t.origin, paths: t.paths, connections: CONNECTIONS, durationMs: 500 });
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const cpu0 = process.cpuUsage();
        const res = await runLoad(load.child, { origin: t.origin, paths: t.paths, connections: CONNECTIONS, durationMs: PHASE_MS / ROUNDS });
        const cpu = process.cpuUsage(cpu0);
        const tot = totals.get(t.name)!;
        tot.cpuMicros += cpu.user + cpu.system;
        tot.roundTrips += res.roundTrips;
        tot.errors += res.errors;
        tot.elapsedMs += res.elapsedMs;
        tot.p50.push(res.p50);
        tot.firstError ??= res.firstError;
      }
    }
    await app.close();
    await whip.shutdown();

    const rate = (name: string) => {
      const t = totals.get(name)!;
      return (t.roundTrips / t.elapsedMs) * 1000;
    };
    const p50 = (name: string) => [...totals.get(name)!.p50].sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
    const errNote = (name: string) => {
      const t = totals.get(name)!;
      return t.errors ? `; ${t.errors} errors (first: ${t.firstError})` : '';
    };
    const rows: BenchRow[] = [];
    for (const kind of ['whip', 'whep']) {
      const d = rate(`${kind} direct`);
      const m = rate(`${kind} manager`);
      rows.push(
        { name: `${kind} round trips straight to the node`, value: d, unit: 'sessions/s', note: `POST offer + DELETE, ${CONNECTIONS} connections${errNote(`${kind} direct`)}` },
        { name: `${kind} round trips through the manager`, value: m, unit: 'sessions/s', note: `broker + relay + Location rewrite${errNote(`${kind} manager`)}` },
        { name: `${kind} manager / direct`, value: m / d, unit: 'ratio', note: 'target ≥ 0.8' },
        { name: `${kind} p50 round trip direct / manager`, value: p50(`${kind} direct`), unit: 'ms', note: `manager ${p50(`${kind} manager`).toFixed(2)} ms` },
        { name: `${kind} manager CPU per session`, value: totals.get(`${kind} manager`)!.cpuMicros / Math.max(1, totals.get(`${kind} manager`)!.roundTrips), unit: 'µs', note: 'POST + DELETE, user + system' },
      );
    }
    return { rows };
  } finally {
    sim.child.kill();
    load.child.kill();
  }
}

if (process.argv[2] === '--whip-bench-child') {
  void childMain(process.argv[3]);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runWhipBench().then(
    (r) => {
      for (const row of r.rows) process.stdout.write(`${row.name.padEnd(44)} ${row.value.toFixed(2).padStart(10)} ${row.unit.padEnd(10)} ${row.note ?? ''}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`whip bench failed: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
