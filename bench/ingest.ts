import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { createHttpApp } from '../src/app.ts';
import { createLogger } from '../src/lib/logger.ts';
import { systemClock } from '../src/lib/clock.ts';
import { configSchema } from '../src/config/schema.ts';
import { ClusterView } from '../src/cluster/view.ts';
import { createNodeProtocol } from '../src/cluster/node-protocol.ts';
import { cloudwatchRoutes } from '../src/http/routes/cloudwatch.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { openSqliteStore } from '../src/store/sqlite-store.ts';
import { makeNode } from '../test/support/node-fixture.ts';
import { median, startClient, type BenchRow } from './broker.ts';

/**
 * Report ingest benchmark (issue 14): 200 nodes each reporting 10 streams (≈ 855-byte bodies) to
 * `POST /streammanager/cloudwatch` through the real shell, node protocol and embedded store, against a
 * bare Fastify POST route that parses the same bodies, in interleaved rounds of the same run. The load
 * generator is broker.ts's child process (keep-alive raw sockets, one request in flight per connection).
 *
 * Runnable alone: `npx tsx bench/ingest.ts`.
 */

const NODES = 200;
const STREAMS_PER_NODE = 10;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS) || 32;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS) || 5_000;
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS) || 1_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS) || 5;
const PASSWORD = 'bench-cluster-password';

const host = (i: number) => `10.1.${i >> 8}.${i & 255}`;

/** Node i's report: what a Red5 Pro node with 10 live streams sends every period. */
export function reportBody(i: number): string {
  const streams = Array.from({ length: STREAMS_PER_NODE }, (_, k) => ({
    scope: 'live',
    name: `event${String(i).padStart(3, '0')}-s${k}`,
    publishers: k === 0 ? 1 : 0,
    subscribers: (i * 7 + k * 13) % 97,
  }));
  return JSON.stringify({ type: 'report', host: host(i), port: 5080, capacity: 1000, connections: { publishers: 1, subscribers: 312 }, streams, cpu: 0.31, memory: 0.42 });
}

const post = (path: string, body: string, auth: boolean) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n` +
  (auth ? `Authorization: Bearer ${PASSWORD}\r\n` : '') +
  `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

export async function runIngestBench(): Promise<{ rows: BenchRow[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'sm-ingest-bench-'));
  const store = openSqliteStore(join(dir, 'cluster.sqlite'));
  const clock = systemClock;
  const config = configSchema.parse({});
  const log = createLogger('info', { write() {} });
  const view = new ClusterView();
  await store.createGroup({ name: 'g1', regions: ['us-test1'], launchConfig: 'lc', scalePolicy: 'sp', state: 'active', baseCapacity: 0, timestamp: clock.now() });
  for (let i = 0; i < NODES; i++) view.setNode(await store.saveNode(makeNode(host(i), clock.now(), { capacity: 1000 })));
  const protocol = createNodeProtocol({ config, clock, log, store, view, ops: { markInService: async (n) => n } });
  const metrics = createMetrics({ view, clock });
  const app = await createHttpApp({ log, adminToken: 'bench', metrics, routes: {
      root: [
        cloudwatchRoutes({ clusterPassword: PASSWORD, protocol }),
        // The bare route's handler inside the app's shell: tells the shell's share of the gap from the protocol's.
        async (a) => {
          a.post('/bench/post', (req) => ({ ok: (req.body as { type?: string }).type === 'report' }));
        },
      ],
      admin: [],
      public: [],
    },
  });
  const bare = Fastify();
  bare.post('/bare', (req) => ({ ok: (req.body as { type?: string }).type === 'report' }));
  const client = await startClient();
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    await bare.listen({ port: 0, host: '127.0.0.1' });
    const bodies = Array.from({ length: NODES }, (_, i) => reportBody(i));
    const probe = await app.inject({ method: 'POST', url: '/streammanager/cloudwatch', headers: { authorization: `Bearer ${PASSWORD}`, 'content-type': 'application/json' }, payload: bodies[0] });
    if (probe.statusCode !== 200 || probe.json().status !== 'assigned') throw new Error(`report probe answered ${probe.statusCode}: ${probe.body}`);
    const phases = [
      { name: 'bare', port: (bare.server.address() as AddressInfo).port, raw: bodies.map((b) => post('/bare', b, false)) },
      { name: 'shell', port: (app.server.address() as AddressInfo).port, raw: bodies.map((b) => post('/bench/post', b, true)) },
      { name: 'report', port: (app.server.address() as AddressInfo).port, raw: bodies.map((b) => post('/streammanager/cloudwatch', b, true)) },
    ];
    for (const ph of phases) await client.run({ port: ph.port, paths: [], raw: ph.raw, connections: CONNECTIONS, durationMs: WARMUP_MS });
    const totals = new Map<string, { requests: number; non2xx: number; elapsedMs: number; cpu: number; p99: number[] }>();
    const roundMs = Math.max(200, Math.round(PHASE_MS / ROUNDS));
    for (let round = 0; round < ROUNDS; round++) {
      for (const ph of phases) {
        const cpu0 = process.cpuUsage();
        const r = await client.run({ port: ph.port, paths: [], raw: ph.raw, connections: CONNECTIONS, durationMs: roundMs });
        const cpu = process.cpuUsage(cpu0);
        let t = totals.get(ph.name);
        if (!t) totals.set(ph.name, (t = { requests: 0, non2xx: 0, elapsedMs: 0, cpu: 0, p99: [] }));
        t.requests += r.requests;
        t.non2xx += r.non2xx + r.errors;
        t.elapsedMs += r.elapsedMs;
        t.cpu += cpu.user + cpu.system;
        t.p99.push(r.p99);
      }
    }
    const b = totals.get('bare')!;
    const rep = totals.get('report')!;
    const sh = totals.get('shell')!;
    const rps = (t: typeof b) => (t.requests / t.elapsedMs) * 1000;
    const note = (t: typeof b) => `${t.non2xx ? `${t.non2xx} non-2xx or errors; ` : ''}${CONNECTIONS} connections, ${ROUNDS} × ${roundMs / 1000} s`;
    const bytes = Math.round(bodies.reduce((n, x) => n + Buffer.byteLength(x), 0) / bodies.length);
    return {
      rows: [
        { name: 'bare Fastify POST route', value: rps(b), unit: 'req/s', note: `${note(b)}; same bodies, JSON parsed` },
        { name: 'bare Fastify POST server CPU', value: b.cpu / b.requests, unit: 'µs/req' },
        { name: 'shell POST route', value: rps(sh), unit: 'req/s', note: 'the bare handler inside the app shell, same bodies' },
        { name: 'shell POST server CPU', value: sh.cpu / sh.requests, unit: 'µs/req' },
        { name: `report (${NODES} nodes × ${STREAMS_PER_NODE} streams)`, value: rps(rep), unit: 'req/s', note: `${note(rep)}; ${bytes}-byte bodies` },
        { name: 'report p99', value: median(rep.p99), unit: 'ms', note: `bare ${median(b.p99).toFixed(2)} ms; median of rounds` },
        { name: 'report server CPU', value: rep.cpu / rep.requests, unit: 'µs/req' },
        { name: 'report / bare throughput', value: rps(rep) / rps(b), unit: 'ratio', note: 'target ≥ 0.60' },
      ],
    };
  } finally {
    client.child.send('exit');
    await Promise.allSettled([app.close(), bare.close()]);
    await protocol.flush().catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runIngestBench().then(
    ({ rows }) => {
      for (const r of rows) process.stdout.write(`${r.name.padEnd(40)} ${r.value.toPrecision(4).padStart(10)} ${r.unit.padEnd(6)} ${r.note ?? ''}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`ingest bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
