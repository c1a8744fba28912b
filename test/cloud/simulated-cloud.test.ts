import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { configSchema } from '../../src/config/schema.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { AppError } from '../../src/lib/errors.ts';
import { CloudError, type LaunchRequest } from '../../src/cloud/cloud-controller.ts';
import { createNodeApi, type NodeApi } from '../../src/cloud/node-api.ts';
import { createSimulatedCloud, type SimulatedCloud } from '../../src/cloud/simulated/simulated-cloud.ts';
import { normalizeHost } from '../../src/lib/hosts.ts';
import { provisionRoutes } from '../../src/http/routes/provisions.ts';
import { startSimNode, type SimNode } from '../../src/sim/node-sim.ts';
import { pluginApp, adminUrl } from '../support/http.ts';
import { defineCloudControllerContract } from './cloud-controller.contract.ts';

const NODE_TOKEN = 'node-api-token';
const DELAY = 3000;
const ZONE = 'us-test1-a';

// Each simulated host gets its own loopback address (the pool is keyed by host); ports are random.
let hostSeq = 0;
const nextHost = () => `127.0.${10 + Math.floor(hostSeq / 250)}.${2 + (hostSeq++ % 250)}`;

interface Env {
  cloud: SimulatedCloud;
  clock: ManualClock;
  dataDir: string;
  nodeApi: NodeApi & { calls: number; maxInFlight: number };
  /** Starts a simulated node (answering pings with NODE_TOKEN). */
  node(token?: string): Promise<SimNode>;
  /** Starts `n` nodes and provisions them in `zone` as `type`. */
  seed(n: number, type?: string, zone?: string): Promise<SimNode[]>;
  reopen(): Promise<SimulatedCloud>;
  cleanup(): Promise<void>;
}

async function makeEnv(opts: { recycleDeadNodes?: boolean; dataDir?: string } = {}): Promise<Env> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sim-cloud-'));
  const clock = new ManualClock();
  const config = configSchema.parse({
    managed: {
      regionNames: 'us-test1,eu-test2',
      availabilityZoneNames: 'us-test1-a,us-test1-b,eu-test2-a',
      operationTimeoutMilliseconds: String(DELAY),
      recycleDeadNodes: String(opts.recycleDeadNodes ?? true),
    },
    serverapi: { accessToken: NODE_TOKEN, timeout: '1000' },
  });
  const real = createNodeApi({ protocol: 'http', port: config.serverapi.port, version: config.serverapi.version, accessToken: NODE_TOKEN, timeout: 1000 });
  let inFlight = 0;
  const nodeApi = {
    calls: 0,
    maxInFlight: 0,
    async ping(host: string, port?: number) {
      nodeApi.calls++;
      nodeApi.maxInFlight = Math.max(nodeApi.maxInFlight, ++inFlight);
      try {
        return await real.ping(host, port);
      } finally {
        inFlight--;
      }
    },
  };
  const log = createLogger('silent');
  const clouds: SimulatedCloud[] = [];
  const open = () => {
    const c = createSimulatedCloud({ config, clock, log, dataDir, nodeApi });
    clouds.push(c);
    return c;
  };
  const nodes: SimNode[] = [];
  const env: Env = {
    cloud: open(),
    clock,
    dataDir,
    nodeApi,
    async node(token = NODE_TOKEN) {
      const n = await startSimNode({ host: nextHost(), port: 0, manager: 'http://127.0.0.1:9', clusterPassword: 'unused', accessToken: token, autoReport: false, clock });
      nodes.push(n);
      return n;
    },
    async seed(n, type = 'standard', zone = ZONE) {
      const ns = await Promise.all(Array.from({ length: n }, () => env.node()));
      await env.cloud.addProvisions(ns.map((x) => ({ location: zone, host: x.host, port: x.port, instanceType: type })));
      return ns;
    },
    async reopen() {
      await env.cloud.close();
      env.cloud = open();
      return env.cloud;
    },
    async cleanup() {
      for (const c of clouds) await c.close();
      await Promise.all(nodes.map((n) => n.stop()));
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return env;
}

async function withEnv(t: TestContext, opts: Parameters<typeof makeEnv>[0] = {}): Promise<Env> {
  const env = await makeEnv(opts);
  t.after(() => env.cleanup());
  return env;
}

let idSeq = 0;
const launchReq = (over: Partial<LaunchRequest> = {}): LaunchRequest => ({
  identifier: `node-${ZONE}-${1_700_000_100_000 + ++idSeq}`,
  role: 'edge',
  zone: ZONE,
  instanceType: 'standard',
  group: 'grp1',
  ...over,
});

/** Launches and advances the simulated delay. */
async function launch(env: Env, over: Partial<LaunchRequest> = {}) {
  const p = env.cloud.launch(launchReq(over));
  p.catch(() => undefined);
  await env.clock.advance(DELAY);
  return p;
}

const appError = (status: number, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
  assert.equal(e.statusCode, status, e.message);
  assert.match(e.message, re);
  return true;
};

defineCloudControllerContract('simulated cloud', async () => {
  const env = await makeEnv();
  return {
    controller: env.cloud,
    clock: env.clock,
    launchDelayMs: DELAY,
    seedCapacity: async (n) => void (await env.seed(n)),
    cleanup: () => env.cleanup(),
  };
});

describe('simulated cloud', () => {
  test('is named like the classic controller and maps zones to configured regions', async (t) => {
    const { cloud } = await withEnv(t);
    assert.equal(cloud.name, 'Simulated Cloud Services');
    assert.deepEqual(cloud.regions, ['us-test1', 'eu-test2']);
    assert.deepEqual(cloud.zones, ['us-test1-a', 'us-test1-b', 'eu-test2-a']);
    assert.equal(cloud.regionOfZone('us-test1-b'), 'us-test1');
    assert.equal(cloud.regionOfZone('eu-test2-a'), 'eu-test2');
    assert.equal(cloud.regionOfZone('mars-1a'), 'us-test1');
  });

  test('provisions are stored AVAILABLE in <dataDir>/Simulated-Cloud-Platform/hostednodes.sqlite', async (t) => {
    const env = await withEnv(t);
    const [a, b] = await Promise.all([env.node(), env.node()]);
    const added = await env.cloud.addProvisions([
      { location: ZONE, host: a.host, port: a.port, instanceType: 'standard' },
      { location: 'eu-test2-a', host: b.host, port: String(b.port), instanceType: 'largecpu', meta: 'rack 4' },
    ]);
    assert.equal(added.length, 2);
    assert.match(added[0].nodeId, /^provision-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(
      { ...added[0], nodeId: '' },
      { nodeId: '', location: ZONE, host: a.host, port: a.port, instanceType: 'standard', state: 'AVAILABLE', meta: '' },
    );
    assert.equal(added[1].port, b.port);
    assert.equal(added[1].meta, 'rack 4');
    assert.deepEqual(await env.cloud.listProvisions(), added);
    assert.equal(await env.cloud.available(ZONE, 'standard'), 1);
    assert.equal(await env.cloud.available('eu-test2-a', 'largecpu'), 1);
    assert.equal(await env.cloud.available(ZONE, 'largecpu'), 0);
    assert.ok(existsSync(join(env.dataDir, 'Simulated-Cloud-Platform', 'hostednodes.sqlite')));
    assert.equal(env.nodeApi.maxInFlight, 2, 'hosts are pinged concurrently');
  });

  test('a host without a port is pinged on serverapi.port and served without port', async (t) => {
    const env = await withEnv(t);
    let asked: [string, number | undefined] | null = null;
    env.nodeApi.ping = async (host, port) => {
      asked = [host, port];
      return true;
    };
    const [p] = await env.cloud.addProvisions([{ location: ZONE, host: 'Node-7.Example.com', instanceType: 'standard' }]);
    assert.deepEqual(asked, ['node-7.example.com', 5080]);
    assert.equal('port' in p, false);
    assert.equal(p.host, 'node-7.example.com');
  });

  test('an unreachable host is refused with a 400 naming it, and nothing is stored', async (t) => {
    const env = await withEnv(t);
    const [up, down, otherToken] = await Promise.all([env.node(), env.node(), env.node('another-token')]);
    await down.kill();
    await assert.rejects(
      env.cloud.addProvisions([
        { location: ZONE, host: up.host, port: up.port, instanceType: 'standard' },
        { location: ZONE, host: down.host, port: down.port, instanceType: 'standard' },
        { location: ZONE, host: otherToken.host, port: otherToken.port, instanceType: 'standard' },
      ]),
      appError(400, new RegExp(`${down.host.replace(/\./g, '\\.')}:${down.port} \\(entry 1\\).*${otherToken.host.replace(/\./g, '\\.')}:${otherToken.port} \\(entry 2\\)`)),
    );
    assert.deepEqual(await env.cloud.listProvisions(), []);
    assert.equal(env.nodeApi.maxInFlight, 3, 'all hosts pinged concurrently');
  });

  test('malformed and duplicate entries are refused naming entry and field; nothing is stored or pinged', async (t) => {
    const env = await withEnv(t);
    const [a, b] = await env.seed(2);
    const fresh = await env.node();
    const calls = env.nodeApi.calls;
    const ok = { location: ZONE, host: fresh.host, port: fresh.port, instanceType: 'standard' };
    await assert.rejects(
      env.cloud.addProvisions([
        ok,
        { ...ok, host: '' },
        { ...ok, host: 'http://10.0.0.1/api' },
        { ...ok, host: 'bad host' },
        { ...ok, host: '999.1.2.3' },
        { ...ok, host: '10.0.0.9', instanceType: '  ' },
        { ...ok, host: '10.0.0.10', port: 70000 },
        { ...ok, host: '10.0.0.11', port: 'abc' },
        { ...ok, host: fresh.host.toUpperCase() },
        { ...ok, host: a.host },
        { location: ZONE, instanceType: 'standard' },
        'not an object',
      ]),
      (e: unknown) => {
        assert.ok(e instanceof AppError && e.statusCode === 400);
        for (const re of [
          /entry 1 \(host\): must not be blank/,
          /entry 2 \(host\): .*not an IPv4 or IPv6 address or a DNS name/,
          /entry 3 \(host\)/,
          /entry 4 \(host\)/,
          /entry 5 \(instanceType\): must not be blank/,
          /entry 6 \(port\)/,
          /entry 7 \(port\)/,
          /entry 8 \(host\): .* duplicates entry 0/,
          new RegExp(`entry 9 \\(host\\): ${a.host.replace(/\./g, '\\.')} is already provisioned`),
          /entry 10 \(host\): is required/,
          /entry 11: must be an object/,
        ]) {
          assert.match(e.message, re);
        }
        assert.doesNotMatch(e.message, /entry 0 \(/, "the valid entry is not blamed");
        return true;
      },
    );
    assert.deepEqual(
      (await env.cloud.listProvisions()).map((p) => p.host),
      [a.host, b.host],
    );
    assert.equal(env.nodeApi.calls, calls, 'invalid input is refused before any ping');
    await assert.rejects(env.cloud.addProvisions([]), appError(400, /at least one provision/));
  });

  test('an unknown zone is refused with a 400 naming the configured zones', async (t) => {
    const env = await withEnv(t);
    const n = await env.node();
    await assert.rejects(
      env.cloud.addProvisions([{ location: 'mars-1a', host: n.host, port: n.port, instanceType: 'standard' }]),
      appError(400, /entry 0 \(location\): unknown zone "mars-1a".*us-test1-a, us-test1-b, eu-test2-a/),
    );
    assert.deepEqual(await env.cloud.listProvisions(), []);
    await assert.rejects(env.cloud.launch(launchReq({ zone: 'mars-1a' })), (e: unknown) => e instanceof CloudError && e.code === 'UNKNOWN_ZONE');
  });

  test('normalizeHost accepts IPv4, IPv6 and DNS names and rejects schemes, ports, paths and spaces', () => {
    assert.equal(normalizeHost('10.0.0.1'), '10.0.0.1');
    assert.equal(normalizeHost(' ::1 '), '::1');
    assert.equal(normalizeHost('[2001:DB8::5]'), '2001:db8::5');
    assert.equal(normalizeHost('Edge-1.Example.COM'), 'edge-1.example.com');
    assert.equal(normalizeHost('localhost'), 'localhost');
    for (const bad of ['', 'http://a.b', 'a.b/c', '10.0.0.1:5080', 'a b', '999.1.1.1', '-x.com', 'x..com', '[10.0.0.1]', 'a_b.com']) {
      assert.equal(normalizeHost(bad), null, bad);
    }
  });

  test('launch reserves a host at once (pending during the delay) and refuses clearly when the pool is empty', async (t) => {
    const env = await withEnv(t);
    const [a] = await env.seed(1);
    const r = launchReq({ role: 'origin', group: 'grp-x' });
    const p = env.cloud.launch(r);
    assert.deepEqual(await env.cloud.listProvisions('available'), [], 'reserved before the delay');
    assert.equal((await env.cloud.describe(r.identifier))?.state, 'pending');
    await env.clock.advance(DELAY);
    const inst = await p;
    assert.deepEqual(inst, {
      identifier: r.identifier,
      host: a.host,
      port: a.port,
      zone: ZONE,
      region: 'us-test1',
      instanceType: 'standard',
      state: 'running',
      launchTime: env.clock.now() - DELAY,
      group: r.group,
    });
    await assert.rejects(env.cloud.launch(launchReq({ instanceType: 'largecpu' })), (e: unknown) => {
      assert.ok(e instanceof CloudError);
      assert.equal(e.code, 'POOL_EXHAUSTED');
      assert.equal(e.retryable, false);
      assert.match(e.message, /largecpu.*us-test1-a.*POST \/admin\/controller\/provisions/);
      assert.deepEqual(e.details, { zone: ZONE, instanceType: 'largecpu', available: 0 });
      return true;
    });
  });

  test('terminating while the launch is still in its delay fails that launch and frees the host', async (t) => {
    const env = await withEnv(t);
    await env.seed(1);
    const r = launchReq();
    const p = env.cloud.launch(r);
    p.catch(() => undefined);
    await env.cloud.terminate(r.identifier, 'operator');
    await env.clock.advance(DELAY);
    await assert.rejects(p, (e: unknown) => e instanceof CloudError && e.retryable);
    assert.equal((await env.cloud.listProvisions('available')).length, 1);
  });

  test('scale-in, group deletion and operator termination return the host to the pool without a ping', async (t) => {
    const env = await withEnv(t);
    const nodes = await env.seed(3);
    for (const reason of ['scale-in', 'group-deleted', 'operator'] as const) {
      const inst = await launch(env);
      await nodes.find((n) => n.host === inst.host)!.kill();
      await env.cloud.terminate(inst.identifier, reason);
      const p = (await env.cloud.listProvisions()).find((x) => x.host === inst.host)!;
      assert.equal(p.state, 'AVAILABLE', reason);
      await nodes.find((n) => n.host === inst.host)!.revive();
    }
  });

  test('failed termination with recycleDeadNodes=true: AVAILABLE if it answers the ping, else TERMINATED', async (t) => {
    const env = await withEnv(t, { recycleDeadNodes: true });
    const nodes = await env.seed(2);
    const alive = await launch(env);
    const dead = await launch(env);
    await nodes.find((n) => n.host === dead.host)!.kill();
    await env.cloud.terminate(alive.identifier, 'failed');
    await env.cloud.terminate(dead.identifier, 'failed');
    const state = async (host: string) => (await env.cloud.listProvisions()).find((p) => p.host === host)?.state;
    assert.equal(await state(alive.host), 'AVAILABLE');
    assert.equal(await state(dead.host), 'TERMINATED');
    assert.deepEqual(await env.cloud.list(), []);
    assert.deepEqual(
      (await env.cloud.listProvisions('unavailable')).map((p) => p.host),
      [dead.host],
    );
  });

  test('failed termination with recycleDeadNodes=false: TERMINATED even when it answers', async (t) => {
    const env = await withEnv(t, { recycleDeadNodes: false });
    await env.seed(1);
    const inst = await launch(env);
    await env.cloud.terminate(inst.identifier, 'failed');
    assert.equal((await env.cloud.listProvisions())[0].state, 'TERMINATED');
    await assert.rejects(launch(env), (e: unknown) => e instanceof CloudError && e.code === 'POOL_EXHAUSTED');
  });

  test('lists by state: available is free hosts, unavailable is ASSIGNED and TERMINATED', async (t) => {
    const env = await withEnv(t, { recycleDeadNodes: false });
    const [a, b, c] = await env.seed(3);
    const assigned = await launch(env);
    const failed = await launch(env);
    await env.cloud.terminate(failed.identifier, 'failed');
    const free = [a, b, c].map((n) => n.host).filter((h) => h !== assigned.host && h !== failed.host);
    assert.deepEqual(
      (await env.cloud.listProvisions('available')).map((p) => p.host),
      free,
    );
    assert.deepEqual(
      (await env.cloud.listProvisions('unavailable')).map((p) => [p.host, p.state]).sort(),
      [
        [assigned.host, 'ASSIGNED'],
        [failed.host, 'TERMINATED'],
      ].sort(),
    );
    assert.equal((await env.cloud.listProvisions('all')).length, 3);
  });

  test('delete: one host (404 unknown, 409 while it serves a group) and all free hosts', async (t) => {
    const env = await withEnv(t);
    const [a, b, c] = await env.seed(3);
    const removed = await env.cloud.removeProvision(a.host);
    assert.equal(removed.host, a.host);
    assert.equal(removed.state, 'AVAILABLE');
    await assert.rejects(env.cloud.removeProvision(a.host), appError(404, /No provision/));
    const inst = await launch(env);
    await assert.rejects(env.cloud.removeProvision(inst.host), appError(409, /serves instance/));
    const all = await env.cloud.removeAllProvisions();
    assert.equal(all.count, 1);
    assert.deepEqual(all.retained, [inst.host]);
    assert.equal(all.timestamp, env.clock.now());
    assert.deepEqual(
      (await env.cloud.listProvisions()).map((p) => p.host),
      [inst.host],
    );
    assert.ok([b.host, c.host].includes(inst.host));
  });

  test('reset: a TERMINATED host returns to AVAILABLE only when it answers the ping', async (t) => {
    const env = await withEnv(t, { recycleDeadNodes: true });
    const [n] = await env.seed(1);
    const inst = await launch(env);
    await n.kill();
    await env.cloud.terminate(inst.identifier, 'failed');
    assert.equal((await env.cloud.listProvisions())[0].state, 'TERMINATED');
    await assert.rejects(env.cloud.resetProvision(n.host), appError(400, new RegExp(`${n.host.replace(/\./g, '\\.')}:${n.port} does not answer`)));
    assert.equal((await env.cloud.listProvisions())[0].state, 'TERMINATED');
    await n.revive();
    const reset = await env.cloud.resetProvision(n.host);
    assert.equal(reset.state, 'AVAILABLE');
    assert.equal((await env.cloud.resetProvision(n.host)).state, 'AVAILABLE', 'resetting an AVAILABLE host is harmless');
    await assert.rejects(env.cloud.resetProvision('10.9.9.9'), appError(404, /No provision/));
    const again = await launch(env);
    await assert.rejects(env.cloud.resetProvision(again.host), appError(409, /only TERMINATED hosts/));
  });

  test('after a restart (same dataDir) the pool and the ASSIGNED hosts are still there', async (t) => {
    const env = await withEnv(t);
    const nodes = await env.seed(2);
    const first = await launch(env, { group: 'grp-r', role: 'origin' });
    const cloud = await env.reopen();
    assert.deepEqual(
      (await cloud.list()).map((i) => [i.identifier, i.host, i.state]),
      [[first.identifier, first.host, 'running']],
    );
    assert.equal((await cloud.describe(first.identifier))?.host, first.host);
    const states = Object.fromEntries((await cloud.listProvisions()).map((p) => [p.host, p.state]));
    assert.deepEqual(states, Object.fromEntries(nodes.map((n) => [n.host, n.host === first.host ? 'ASSIGNED' : 'AVAILABLE'])));
    const second = await launch(env);
    assert.notEqual(second.host, first.host);
    await assert.rejects(launch(env), (e: unknown) => e instanceof CloudError && e.code === 'POOL_EXHAUSTED');
  });

  test('two controllers on the same file never hand out the same host', async (t) => {
    const env = await withEnv(t);
    await env.seed(2);
    const other = createSimulatedCloud({
      config: configSchema.parse({ managed: { operationTimeoutMilliseconds: '0' } }),
      clock: env.clock,
      log: createLogger('silent'),
      dataDir: env.dataDir,
      nodeApi: env.nodeApi,
    });
    t.after(() => other.close());
    const ps = [env.cloud.launch(launchReq()), other.launch(launchReq()), env.cloud.launch(launchReq()), other.launch(launchReq())];
    ps.forEach((p) => p.catch(() => undefined));
    await env.clock.advance(DELAY);
    const res = await Promise.allSettled(ps);
    const hosts = res.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ host: string }>).value.host);
    assert.equal(hosts.length, 2);
    assert.equal(new Set(hosts).size, 2);
  });
});

describe('provision routes (C1–C7)', () => {
  async function routeEnv(t: TestContext) {
    const env = await withEnv(t, { recycleDeadNodes: false });
    const app = await pluginApp(t, { admin: [provisionRoutes({ cloud: env.cloud, forceRemove: (h) => env.cloud.removeProvision(h, { servedBy: () => null }) })] });
    return { env, app };
  }

  test('every route needs the admin token', async (t) => {
    const { app } = await routeEnv(t);
    for (const [method, url] of [
      ['GET', '/controller/provision'],
      ['POST', '/controller/provisions'],
      ['DELETE', '/controller/provision'],
      ['POST', '/controller/provision/10.0.0.1'],
    ] as const) {
      const res = await app.inject({ method, url: `/streammanager/api/4.0/admin${url}`, payload: method === 'GET' ? undefined : [] });
      assert.equal(res.statusCode, 401, `${method} ${url}`);
      assert.ok(res.json().errorMessage);
    }
  });

  test('C1 add (array or one object, both paths), C2 list, C3 available, C4 unavailable', async (t) => {
    const { env, app } = await routeEnv(t);
    const [a, b, c] = await Promise.all([env.node(), env.node(), env.node()]);
    const add = await app.inject({
      method: 'POST',
      url: adminUrl('/controller/provisions'),
      payload: [
        { location: ZONE, host: a.host, port: a.port, instanceType: 'standard' },
        { location: ZONE, host: b.host, port: b.port, instanceType: 'standard' },
      ],
    });
    assert.equal(add.statusCode, 200, add.body);
    assert.deepEqual(
      add.json().map((p: { host: string; state: string }) => [p.host, p.state]),
      [
        [a.host, 'AVAILABLE'],
        [b.host, 'AVAILABLE'],
      ],
    );
    const one = await app.inject({
      method: 'POST',
      url: adminUrl('/controller/provision', '2.0'),
      payload: { location: ZONE, host: c.host, port: c.port, instanceType: 'standard' },
    });
    assert.equal(one.statusCode, 200, one.body);
    assert.equal(one.json().length, 1);
    assert.deepEqual(Object.keys(one.json()[0]).sort(), ['host', 'instanceType', 'location', 'meta', 'nodeId', 'port', 'state']);

    const inst = await launch(env);
    await env.cloud.terminate((await launch(env)).identifier, 'failed');

    const all = await app.inject({ method: 'GET', url: adminUrl('/controller/provision') });
    assert.equal(all.statusCode, 200);
    assert.equal(all.json().length, 3);
    const all2 = await app.inject({ method: 'GET', url: adminUrl('/controller/provisions') });
    assert.deepEqual(all2.json(), all.json());
    const avail = await app.inject({ method: 'GET', url: adminUrl('/controller/provision/available') });
    assert.deepEqual(
      avail.json().map((p: { state: string }) => p.state),
      ['AVAILABLE'],
    );
    const unavail = await app.inject({ method: 'GET', url: adminUrl('/controller/provision/unavailable') });
    assert.deepEqual(unavail.json().map((p: { state: string }) => p.state).sort(), ['ASSIGNED', 'TERMINATED']);
    assert.ok(unavail.json().some((p: { host: string }) => p.host === inst.host));
  });

  test('C1 refusals: bad body, bad entries, unreachable host: 400 with the classic error body', async (t) => {
    const { env, app } = await routeEnv(t);
    const down = await env.node();
    await down.kill();
    const notJson = await app.inject({ method: 'POST', url: adminUrl('/controller/provisions'), payload: '"hello"', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.statusCode, 400);
    assert.match(notJson.json().errorMessage, /provision object/);
    const badEntry = await app.inject({ method: 'POST', url: adminUrl('/controller/provisions'), payload: [{ location: 'mars-1a', host: 'a b', instanceType: 'standard' }] });
    assert.equal(badEntry.statusCode, 400);
    assert.match(badEntry.json().errorMessage, /entry 0 \(location\).*entry 0 \(host\)/);
    assert.equal(typeof badEntry.json().timestamp, 'number');
    const unreachable = await app.inject({
      method: 'POST',
      url: adminUrl('/controller/provisions'),
      payload: [{ location: ZONE, host: down.host, port: down.port, instanceType: 'standard' }],
    });
    assert.equal(unreachable.statusCode, 400);
    assert.ok(unreachable.json().errorMessage.includes(`${down.host}:${down.port}`));
    assert.doesNotMatch(unreachable.json().errorMessage, new RegExp(NODE_TOKEN), 'the node token never appears');
    assert.deepEqual((await app.inject({ method: 'GET', url: adminUrl('/controller/provision') })).json(), []);
  });

  test('C5 delete one, C6 reset, C7 delete all', async (t) => {
    const { env, app } = await routeEnv(t);
    const [a, b, c] = await env.seed(3);
    const del = await app.inject({ method: 'DELETE', url: adminUrl(`/controller/provision/${a.host}`) });
    assert.equal(del.statusCode, 200);
    assert.equal(del.json().host, a.host);
    const again = await app.inject({ method: 'DELETE', url: adminUrl(`/controller/provision/${a.host}`) });
    assert.equal(again.statusCode, 404);
    assert.ok(again.json().errorMessage);

    const inst = await launch(env);
    const busy = await app.inject({ method: 'DELETE', url: adminUrl(`/controller/provision/${inst.host}`) });
    assert.equal(busy.statusCode, 409);

    const failed = await launch(env);
    await env.cloud.terminate(failed.identifier, 'failed'); // recycleDeadNodes=false: TERMINATED
    const reset = await app.inject({ method: 'POST', url: adminUrl(`/controller/provision/${failed.host}`) });
    assert.equal(reset.statusCode, 200, reset.body);
    assert.equal(reset.json().state, 'AVAILABLE');
    assert.equal(reset.json().host, failed.host);
    const unknown = await app.inject({ method: 'POST', url: adminUrl('/controller/provision/10.200.0.1') });
    assert.equal(unknown.statusCode, 404);

    const all = await app.inject({ method: 'DELETE', url: adminUrl('/controller/provision') });
    assert.equal(all.statusCode, 200);
    assert.equal(all.json().count, 1);
    assert.deepEqual(all.json().retained, [inst.host]);
    assert.equal(typeof all.json().timestamp, 'number');
    assert.deepEqual(
      (await app.inject({ method: 'GET', url: adminUrl('/controller/provision') })).json().map((p: { host: string }) => p.host),
      [inst.host],
    );
    assert.ok([b.host, c.host].includes(inst.host));
  });
});
