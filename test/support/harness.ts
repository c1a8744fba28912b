import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/load.ts';
import { createDeps, type Runtime } from '../../src/deps.ts';
import { buildApp } from '../../src/app.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { ManualClock, flush } from '../../src/lib/manual-clock.ts';
import { startSimNode, type SimNode } from '../../src/sim/node-sim.ts';
import { createTestDatabase } from './mysql.ts';

export const ADMIN = 'harness-admin-token';
export const CLUSTER_PASSWORD = 'harness-cluster-pw';
export const NODE_TOKEN = 'harness-node-token';

export interface HarnessOptions {
  store?: 'sqlite' | 'mysql';
  /** Extra config keys (properties names). */
  config?: Record<string, string | number | boolean>;
  clock?: ManualClock;
  /** Reuse a data dir / database (restart tests). */
  dataDir?: string;
  mysql?: { host: string; port: number; user: string; password: string; database: string };
  /** Loopback port of the manager (default: any free one); a restarted manager reuses its predecessor's URL. */
  port?: number;
  /** Logger of the manager (default: silent). */
  log?: import('../../src/lib/logger.ts').Logger;
}

export interface Harness {
  rt: Runtime;
  app: FastifyInstance;
  url: string;
  port: number;
  clock: ManualClock;
  dataDir: string;
  /** The MySQL database in use (restart tests hand it to the next manager). */
  mysql?: { host: string; port: number; user: string; password: string; database: string };
  /** JSON request against the manager; admin paths get the token. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string; headers: Headers }>;
  /** Starts a simulator node on 127.0.0.<n> (random port), reporting to this manager on the manual clock. */
  node(n: number, opts?: { capacity?: number; autoReport?: boolean }): Promise<SimNode>;
  /** Adds simulator nodes to the simulated cloud pool. */
  provision(nodes: ReadonlyArray<Pick<SimNode, 'host' | 'port'>>, zone?: string, instanceType?: string): Promise<void>;
  /** Stops the manager (not the nodes). */
  stop(): Promise<void>;
  /** Starts background work (the autoscaler loop). */
  start(): void;
  /**
   * Advances the manual clock by `ms` (default one tick) and waits until the autoscaler has run every
   * tick due by then, its launches have settled and report writes have landed.
   */
  tick(ms?: number): Promise<void>;
  /**
   * The seed set-up: `count` simulator nodes from 127.0.0.<first> in the pool, a group on the sample launch
   * config and policy, its first origin launched (with the policy's edges), every node reporting once
   * (unless `report: false`: the nodes are then still pending).
   */
  cluster(first: number, count?: number, opts?: { report?: boolean }): Promise<{ group: string; nodes: SimNode[]; origin: SimNode; edges: SimNode[] }>;
  /** Scale events of a group, oldest first. */
  events(group: string): Promise<Array<{ kind: string; role: string | null; node: string | null; reason: string; data: Record<string, unknown> }>>;
}

/**
 * A whole manager (real config, store, simulated cloud, HTTP on a loopback port) on a manual clock,
 * with helpers to run simulator nodes against it. Everything is closed after the test.
 */
export async function startHarness(t: TestContext, o: HarnessOptions = {}): Promise<Harness> {
  const clock = o.clock ?? new ManualClock();
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'sm-test-'));
  let mysql = o.mysql;
  if (o.store === 'mysql' && !mysql) {
    const db = await createTestDatabase();
    mysql = db.opts;
    t.after(() => db.drop());
  }
  const config = loadConfig({
    overrides: {
      'server.dataDir': dataDir,
      'rest.administratorToken': ADMIN,
      'cluster.password': CLUSTER_PASSWORD,
      'serverapi.accessToken': NODE_TOKEN,
      'managed.operationTimeoutMilliseconds': 0,
      'server.logLevel': 'silent',
      // Tests drive the broker from one address on a clock that does not move: the per-client limit is
      // off unless a test sets it (test/security/budgets.test.ts).
      'broker.rateLimitPerSecond': 0,
      ...(mysql
        ? { 'config.dbHost': mysql.host, 'config.dbPort': mysql.port, 'config.dbUser': mysql.user, 'config.dbPass': mysql.password, 'config.dbName': mysql.database }
        : {}),
      ...o.config,
    },
  });
  const rt = await createDeps(config, { clock, log: o.log ?? createLogger('silent'), print: () => undefined });
  const app = await buildApp(rt);
  await rt.attach?.(app.server);
  await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const nodes: SimNode[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close();
    await rt.close();
  };
  t.after(async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await stop();
    if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const h: Harness = {
    rt,
    app,
    url,
    port,
    clock,
    dataDir,
    mysql,
    async api(method, path, body) {
      const admin = path.startsWith('/admin') ? `/streammanager/api/4.0${path}${path.includes('?') ? '&' : '?'}accessToken=${ADMIN}` : path;
      const res = await fetch(url + admin, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text, headers: res.headers };
    },
    async node(n, opts = {}) {
      const node = await startSimNode({
        host: `127.0.0.${n}`,
        port: 0,
        manager: url,
        clusterPassword: CLUSTER_PASSWORD,
        accessToken: NODE_TOKEN,
        clock,
        capacity: opts.capacity,
        autoReport: opts.autoReport ?? false,
      });
      nodes.push(node);
      return node;
    },
    async provision(list, zone = 'us-test1-a', instanceType = 'standard') {
      const r = await h.api('POST', '/admin/controller/provisions', list.map((n) => ({ location: zone, host: n.host, port: n.port, instanceType })));
      if (r.status !== 200) throw new Error(`provisioning failed: ${r.status} ${r.text}`);
    },
    stop,
    start: () => rt.start(),
    async tick(ms = rt.config.autoscaler.tickInterval) {
      const interval = rt.config.autoscaler.tickInterval;
      const target = clock.now() + ms;
      while (clock.now() < target) {
        const before = rt.autoscaler.status()?.ticks ?? 0;
        const step = Math.min(interval, target - clock.now());
        await clock.advance(step);
        // The tick runs real I/O (store, pings): let it finish before moving time again.
        for (let i = 0; i < 2000 && rt.autoscaler.status() && (rt.autoscaler.status()!.ticks <= before); i++) await flush(1);
        await rt.autoscaler.idle();
        await rt.protocol.flush();
      }
      // tick(0) moves no time but still waits for a tick another harness's clock.advance() started.
      await rt.autoscaler.idle();
      await rt.protocol.flush();
    },
    async cluster(first, count = 3, opts = {}) {
      const nodes = await Promise.all(Array.from({ length: count }, (_, i) => h.node(first + i)));
      await h.provision(nodes);
      const created = await h.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'simulated-cloud-default-v2' });
      if (created.status !== 201) throw new Error(`group creation failed: ${created.text}`);
      const group = created.json.name as string;
      await h.api('POST', `/admin/nodegroup/${group}/node/origin`);
      await rt.ops.launchesSettled(group);
      if (opts.report !== false) for (const n of nodes) if (rt.view.nodes.has(n.host)) await n.report();
      const origin = nodes.find((n) => rt.view.nodes.get(n.host)?.role === 'origin')!;
      return { group, nodes, origin, edges: nodes.filter((n) => n !== origin && rt.view.nodes.get(n.host)?.role === 'edge') };
    },
    async events(group) {
      const r = await h.api('GET', `/admin/nodegroup/${group}/events?limit=1000`);
      return (r.json?.events ?? []).slice().reverse();
    },
  };
  await flush();
  return h;
}
