import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config/load.ts';
import { CLUSTER_PASSWORD_FILE, readKeptSecret } from '../src/lib/admin-token.ts';
import { createDeps } from '../src/deps.ts';
import { buildApp } from '../src/app.ts';
import { createLogger } from '../src/lib/logger.ts';
import { startSimCluster, type SimNode } from '../src/sim/node-sim.ts';

/**
 * `npm run demo`: a live, self-contained tour of autoscaling. It starts the manager in this process on the
 * zero-config embedded store with fast timers, starts simulated nodes on 127.0.0.2.., and then acts like an
 * operator and an audience over HTTP: provisions the hosts, creates a group, launches an origin, publishes
 * a stream, ramps subscribers up (edges scale out) and down (an edge drains and is terminated), printing
 * the cluster once a second and every scale event as it happens. It ends by itself in under a minute and
 * exits 0 only if it saw at least one scale-out and one scale-in. Real clock: this is a show, not a test.
 */

// ---- scenario (pure parts, importable)

export const PLAN = {
  nodes: 8,
  /** Per node; small so a few dozen subscribers move the autoscaler. */
  capacity: 20,
  threshold: 60,
  edgeMin: 1,
  edgeMax: 4,
  peak: 44,
  floor: 4,
  rampUpStep: 4,
  rampDownStep: 8,
  /** Longest wait at the peak for the edges to come up. */
  holdMaxMs: 12_000,
  /** The scenario stops here whatever happened (the whole run stays under a minute). */
  deadlineMs: 48_000,
  scope: 'live',
  stream: 'stream1',
} as const;

/** What a browser's WHIP client would offer (audio and video, send only); the simulated node answers it. */
const DEMO_OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\n';

export type Phase = 'setup' | 'ramp-up' | 'hold' | 'ramp-down' | 'settle' | 'done';

export interface Observed {
  elapsedMs: number;
  phaseSinceMs: number;
  target: number;
  edgesInService: number;
  edgesLeaving: number;
  scaleIns: number;
}

/** The next phase and subscriber target, given what the last second showed. */
export function step(phase: Phase, o: Observed): { phase: Phase; target: number } {
  if (o.elapsedMs >= PLAN.deadlineMs) return { phase: 'done', target: o.target };
  switch (phase) {
    case 'ramp-up': {
      const target = Math.min(PLAN.peak, o.target + PLAN.rampUpStep);
      return { phase: target === PLAN.peak ? 'hold' : 'ramp-up', target };
    }
    case 'hold':
      // Enough edges for the peak (or waited long enough): let the audience go.
      if (o.edgesInService >= PLAN.edgeMax || o.phaseSinceMs >= PLAN.holdMaxMs) return { phase: 'ramp-down', target: o.target };
      return { phase, target: o.target };
    case 'ramp-down': {
      const target = Math.max(PLAN.floor, o.target - PLAN.rampDownStep);
      return { phase: target === PLAN.floor ? 'settle' : 'ramp-down', target };
    }
    case 'settle':
      // Done once the edges are back to the policy's minimum (at least one went away) and none is leaving.
      return { phase: o.scaleIns > 0 && o.edgesLeaving === 0 && o.edgesInService <= PLAN.edgeMin ? 'done' : 'settle', target: o.target };
    default:
      return { phase, target: o.target };
  }
}

export interface EdgeSlot {
  host: string;
  capacity: number;
  draining: boolean;
  /** Subscribers the demo has placed on it. */
  count: number;
}

/**
 * Which subscribers leave this second and how many new ones to place. Clients on a draining edge finish
 * (half of them each second) and reconnect through the broker; above the target, clients leave draining
 * edges first, then the busiest ones.
 */
export function planClients(edges: EdgeSlot[], target: number): { remove: Map<string, number>; add: number } {
  const remove = new Map<string, number>();
  const left = new Map(edges.map((e) => [e.host, e.count]));
  const take = (host: string, n: number) => {
    if (n <= 0) return;
    remove.set(host, (remove.get(host) ?? 0) + n);
    left.set(host, left.get(host)! - n);
  };
  for (const e of edges) if (e.draining) take(e.host, Math.ceil(e.count / 2));
  let total = [...left.values()].reduce((a, b) => a + b, 0);
  const order = [...edges].sort((a, b) => Number(b.draining) - Number(a.draining) || left.get(b.host)! / b.capacity - left.get(a.host)! / a.capacity);
  for (const e of order) {
    if (total <= target) break;
    const n = Math.min(left.get(e.host)!, total - target);
    take(e.host, n);
    total -= n;
  }
  return { remove, add: Math.max(0, target - total) };
}

/** Without a broker: the least-loaded edge that takes clients and has room. */
export function pickEdge(edges: EdgeSlot[]): string | null {
  let best: EdgeSlot | null = null;
  for (const e of edges) {
    if (e.draining || e.count >= e.capacity) continue;
    if (!best || e.count / e.capacity < best.count / best.capacity) best = e;
  }
  return best?.host ?? null;
}

export interface DemoEvent {
  id?: number;
  at: number;
  kind: string;
  role: string | null;
  node: string | null;
  reason: string;
}

/** Scale-outs: edge launches after the audience arrived. Scale-ins: edge terminations after that. */
export function verdictOf(events: DemoEvent[], audienceSince: number): { scaleOuts: number; scaleIns: number; ok: boolean } {
  const after = events.filter((e) => e.role === 'edge' && e.at >= audienceSince);
  const scaleOuts = after.filter((e) => e.kind === 'launch').length;
  const scaleIns = after.filter((e) => e.kind === 'terminate').length;
  return { scaleOuts, scaleIns, ok: scaleOuts > 0 && scaleIns > 0 };
}

// ---- the live run

export interface NodeRow {
  address: string;
  role: string;
  state: string;
  capacity: number;
}

export interface DemoResult {
  ok: boolean;
  scaleOuts: number;
  scaleIns: number;
  events: DemoEvent[];
}

export async function runDemo(print: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<DemoResult> {
  const started = Date.now();
  const secs = (at: number) => `${((at - started) / 1000).toFixed(1).padStart(5)}s`;
  const dataDir = mkdtempSync(join(tmpdir(), 'sm-demo-'));
  const nodeToken = randomBytes(12).toString('hex');
  const config = loadConfig({
    overrides: {
      'server.dataDir': dataDir,
      'server.logLevel': 'error',
      'serverapi.accessToken': nodeToken,
      'cluster.reportingSpeed': 1000,
      'managed.operationTimeoutMilliseconds': 500,
      'autoscaler.tickInterval': 500,
      'instancecontroller.drainTimeout': 4000,
    },
  });
  // The admin token and the cluster password are generated (neither is configured) and kept out of the terminal.
  const rt = await createDeps(config, { log: createLogger('error'), print: () => undefined });
  // What a node on this machine does: read the generated password from the data dir.
  const clusterPassword = readKeptSecret(dataDir, CLUSTER_PASSWORD_FILE)!;
  const app = await buildApp(rt);
  await rt.attach?.(app.server);
  await app.listen({ host: '127.0.0.1', port: 0 });
  rt.start();
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const api = `${base}/streammanager/api/4.0`;
  let sims: SimNode[] = [];

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const admin = path.startsWith('/admin');
    const res = await fetch(api + path, {
      method,
      headers: { ...(admin ? { authorization: `Bearer ${rt.adminToken}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }
  async function must(method: string, path: string, body?: unknown) {
    const r = await call(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.json)}`);
    return r.json;
  }

  const events: DemoEvent[] = [];
  const seen = new Set<string>();
  try {
    print(`Stream Manager demo: manager on ${base} (embedded store in ${dataDir}), ${PLAN.nodes} simulated nodes`);
    sims = await startSimCluster(PLAN.nodes, { port: 0, manager: base, clusterPassword, accessToken: nodeToken, reportingSpeed: 1000 });
    const simOf = new Map(sims.map((s) => [s.host, s]));

    // ---- operator: pool, launch config, policy, alarm, group, origin
    await must('POST', '/admin/controller/provisions', sims.map((s) => ({ location: 'us-test1-a', host: s.host, port: s.port, instanceType: 'standard' })));
    await must('POST', '/admin/configurations/launchconfig', {
      launchconfig: {
        name: 'demo-lc',
        description: 'demo: small nodes so a few dozen subscribers matter',
        image: 'managed',
        version: '0.0.2',
        targets: { target: ['origin', 'edge'].map((role) => ({ role, instanceType: 'standard', connectionCapacity: PLAN.capacity })) },
        properties: { property: [] },
        metadata: { meta: [] },
      },
    });
    await must('POST', '/admin/configurations/scalepolicy', {
      policy: {
        name: 'demo-sp',
        description: 'demo: short cool-down and warm-up',
        version: '0.0.2',
        type: '',
        targets: {
          target: [
            { role: 'origin', minLimit: 1, maxLimit: 1, scaleAdjustment: 1, coolDownPeriod: 3000, estimatedWarmUpTime: 2000 },
            { role: 'edge', minLimit: PLAN.edgeMin, maxLimit: PLAN.edgeMax, scaleAdjustment: 1, coolDownPeriod: 3000, estimatedWarmUpTime: 2000 },
          ],
        },
      },
    });
    await must('POST', `/admin/alarm/scaleout/default?type=edge&threshold=${PLAN.threshold}`);
    await must('POST', '/admin/nodegroup', { name: 'demo', regions: ['us-test1'], launchConfig: 'demo-lc', scalePolicy: 'demo-sp' });
    await must('POST', '/admin/nodegroup/demo/node/origin');
    print(`${secs(Date.now())}  group "demo" created, origin launching (edge alarm at ${PLAN.threshold}%, ${PLAN.capacity} clients per node, edges ${PLAN.edgeMin}..${PLAN.edgeMax})`);

    const nodes = async (): Promise<NodeRow[]> => (await must('GET', '/admin/nodegroup/demo/node')) as NodeRow[];
    const waitUntil = async (what: string, ok: (rows: NodeRow[]) => boolean, ms: number) => {
      const until = Date.now() + ms;
      for (;;) {
        const rows = await nodes();
        if (ok(rows)) return rows;
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await sleep(250);
      }
    };
    const rows0 = await waitUntil('the origin to report', (r) => r.some((n) => n.role === 'origin' && n.state === 'inservice'), 20_000);

    // ---- publisher: ask the broker for an origin (fall back to the group's origin when no broker is mounted)
    let brokerMounted = true;
    const broker = async (action: 'broadcast' | 'subscribe'): Promise<string | null> => {
      if (!brokerMounted) return null;
      const r = await call('GET', `/event/${PLAN.scope}/${PLAN.stream}?action=${action}`);
      if (r.status === 200) return (Array.isArray(r.json) ? r.json[0] : r.json).serverAddress ?? null;
      if (r.status === 404 && /^No route/.test(r.json?.errorMessage ?? '')) {
        brokerMounted = false;
        print(`${secs(Date.now())}  (no broker route mounted: the demo places clients itself, least-loaded edge first)`);
      }
      return null;
    };
    // The publisher is a WHIP client (OBS, the Red5 SDK's WHIPClient): one POST to the manager, which picks
    // the origin and relays the SDP exchange; the session URL it answers with lives on the manager.
    const whip = await fetch(`${base}/as/v1/proxy/whip/${PLAN.scope}/${PLAN.stream}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: DEMO_OFFER });
    await whip.text();
    let origin: string;
    if (whip.status === 201) {
      const sessions = (await must('GET', '/admin/proxy/clients')) as Array<{ type?: string; targetHost: string }>;
      origin = sessions.find((x) => x.type === 'whip')!.targetHost;
      print(`${secs(Date.now())}  WHIP publish: POST /as/v1/proxy/whip/${PLAN.scope}/${PLAN.stream} → 201, session ${whip.headers.get('location')} on origin ${origin}`);
    } else {
      origin = (await broker('broadcast')) ?? rows0.find((n) => n.role === 'origin' && n.state === 'inservice')!.address;
    }
    // The node announces the stream at once (a Red5 Pro node does when the media starts).
    await simOf.get(origin)!.publish(PLAN.scope, PLAN.stream);
    print(`${secs(Date.now())}  publishing /${PLAN.scope}/${PLAN.stream} on origin ${origin}; audience arriving`);

    // ---- audience: one step a second, with a live line and the new scale events
    const counts = new Map<string, number>();
    const audienceSince = Date.now();
    let phase: Phase = 'ramp-up';
    let phaseSince = Date.now();
    let target = 0;
    while (phase !== 'done') {
      const rows = await nodes();
      const edges: EdgeSlot[] = rows
        .filter((n) => n.role === 'edge' && (n.state === 'inservice' || n.state === 'draining'))
        .map((n) => ({ host: n.address, capacity: n.capacity, draining: n.state === 'draining', count: counts.get(n.address) ?? 0 }));
      // Clients of an edge that is gone are gone with it.
      for (const host of counts.keys()) if (!edges.some((e) => e.host === host)) counts.delete(host);

      const plan = planClients(edges, target);
      for (const [host, n] of plan.remove) counts.set(host, (counts.get(host) ?? 0) - n);
      for (let i = 0; i < plan.add; i++) {
        const slots = edges.map((e) => ({ ...e, count: counts.get(e.host) ?? 0 }));
        const host = (await broker('subscribe')) ?? (brokerMounted ? null : pickEdge(slots));
        // Only edges count here: an origin handed out while no edge is up is not part of this audience.
        if (!host || !edges.some((e) => e.host === host)) break; // full: the rest try again next second
        counts.set(host, (counts.get(host) ?? 0) + 1);
      }
      for (const e of edges) simOf.get(e.host)?.setSubscribers(PLAN.scope, PLAN.stream, counts.get(e.host) ?? 0);

      // Scale events, oldest first, each printed once.
      const page = (await must('GET', '/admin/nodegroup/demo/events?limit=100')) as { events: DemoEvent[] };
      for (const e of [...page.events].reverse()) {
        const key = e.id !== undefined ? String(e.id) : `${e.at}|${e.kind}|${e.node}|${e.reason}`;
        if (seen.has(key)) continue;
        seen.add(key);
        events.push(e);
        print(`${secs(e.at)}  ▸ ${e.kind.padEnd(10)} ${(e.role ?? '').padEnd(6)} ${(e.node ?? '').padEnd(24)} ${e.reason}`);
      }

      const stats = (await must('GET', '/admin/nodegroup/demo/stats')) as { targetTypeLoadSummary: RoleLoad[] };
      const placed = [...counts.values()].reduce((a, b) => a + b, 0);
      print(`${secs(Date.now())}  ${phase.padEnd(9)} subscribers ${String(placed).padStart(2)}/${String(target).padEnd(2)} ${summary(rows, stats.targetTypeLoadSummary)}${placed < target ? `  (${target - placed} waiting: edges full)` : ''}`);

      const v = verdictOf(events, audienceSince);
      const next = step(phase, {
        elapsedMs: Date.now() - started,
        phaseSinceMs: Date.now() - phaseSince,
        target,
        edgesInService: rows.filter((n) => n.role === 'edge' && n.state === 'inservice').length,
        edgesLeaving: rows.filter((n) => n.role === 'edge' && (n.state === 'draining' || n.state === 'terminating')).length,
        scaleIns: v.scaleIns,
      });
      if (next.phase !== phase) phaseSince = Date.now();
      phase = next.phase;
      target = next.target;
      if (phase !== 'done') await sleep(1000);
    }
    const v = verdictOf(events, audienceSince);
    return { ...v, events };
  } finally {
    await Promise.all(sims.map((s) => s.stop().catch(() => undefined)));
    await app.close().catch(() => undefined);
    await rt.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export interface RoleLoad {
  type: string;
  netConnectionCapacity: number;
  netConnectionLoad: number;
}

/** `│ edge 62% 2 inservice, 1 pending │ origin 5% 1 inservice`: load over inservice nodes (design §6). */
export function summary(rows: NodeRow[], loads: RoleLoad[]): string {
  const roles = [...new Set(rows.map((n) => n.role))].sort();
  return roles
    .map((role) => {
      const of = rows.filter((n) => n.role === role);
      const states = [...new Set(of.map((n) => n.state))].map((s) => `${of.filter((n) => n.state === s).length} ${s}`).join(', ');
      const l = loads.find((x) => x.type === role);
      const pct = l && l.netConnectionCapacity > 0 ? `${Math.round((l.netConnectionLoad / l.netConnectionCapacity) * 100)}%` : '-';
      return `│ ${role} ${pct.padStart(4)} ${states}`;
    })
    .join(' ');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function main() {
  const hardStop = setTimeout(() => {
    process.stderr.write('demo: did not finish in 60 s; stopping\n');
    process.exit(1);
  }, 60_000);
  try {
    const r = await runDemo();
    clearTimeout(hardStop);
    const verdict = r.ok
      ? `PASS: ${r.scaleOuts} edge scale-out(s) and ${r.scaleIns} scale-in(s) observed`
      : `FAIL: ${r.scaleOuts} scale-out(s), ${r.scaleIns} scale-in(s) observed; both are needed (is the autoscaler started by rt.start()?)`;
    process.stdout.write(`\n${verdict}\n`);
    process.exit(r.ok ? 0 : 1);
  } catch (err) {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
