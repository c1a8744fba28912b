import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { CLUSTER_PASSWORD, NODE_TOKEN, startHarness, type Harness } from '../support/harness.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { flush } from '../../src/lib/manual-clock.ts';
import { createNodeAgent, type NodeAgent } from '../../src/agent/agent.ts';
import { createServerApi } from '../../src/agent/server-api.ts';
import { createManagerClient } from '../../src/agent/manager-client.ts';
import { runRestartCommand } from '../../src/agent/restart.ts';
import { readOrigins } from '../../src/agent/cluster-xml.ts';
import { startFakeRed5, STOCK_CLUSTER_XML, type FakeRed5 } from './fake-red5.ts';

const stock = readFileSync(STOCK_CLUSTER_XML, 'utf8');
const restarts = (f: FakeRed5) => (existsSync(join(f.home, 'restarts.log')) ? readFileSync(join(f.home, 'restarts.log'), 'utf8').split('\n').filter(Boolean).length : 0);

/** A group on the sample launch config whose three pool hosts are fake Red5 Pro nodes; nothing has reported yet. */
async function redCluster(t: TestContext, h: Harness, first: number) {
  const fakes = await Promise.all([0, 1, 2].map((i) => startFakeRed5(t, `127.0.0.${first + i}`, NODE_TOKEN)));
  await h.provision(fakes);
  const created = await h.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'simulated-cloud-default-v2' });
  assert.equal(created.status, 201, created.text);
  const group = created.json.name as string;
  await h.api('POST', `/admin/nodegroup/${group}/node/origin`);
  await h.rt.ops.launchesSettled(group);
  const role = (f: FakeRed5) => h.rt.view.nodes.get(f.host)?.role;
  const origin = fakes.find((f) => role(f) === 'origin')!;
  const edges = fakes.filter((f) => role(f) === 'edge');
  assert.ok(origin && edges.length === 2, 'the group launched an origin and two edges on the fake nodes');
  return { group, origin, edges };
}

/** Resolves once the agent's start-up check has tried the Server API `n` times (no polling, no sleeps). */
type PingWatch = { pings: number; waiters: Array<{ n: number; resolve: () => void }> };
const pingsDone = (w: PingWatch, n: number) =>
  new Promise<void>((resolve) => (w.pings >= n ? resolve() : w.waiters.push({ n, resolve }))).then(() => flush(1));

function agentFor(t: TestContext, h: Harness, f: FakeRed5, o: { restartCommand?: string; watch?: PingWatch; logs?: string[] } = {}): NodeAgent {
  const api = createServerApi({ base: f.base, accessToken: NODE_TOKEN });
  const w = o.watch;
  const serverApi = {
    snapshot: api.snapshot,
    close: api.close,
    ping: () =>
      api.ping().finally(() => {
        if (!w) return;
        w.pings++;
        for (const x of w.waiters.filter((x) => x.n <= w.pings)) x.resolve();
      }),
  };
  // Sent from the node's own address, as the agent on a real node does.
  const manager = createManagerClient({ url: h.url, password: CLUSTER_PASSWORD, localAddress: f.host });
  const agent = createNodeAgent({
    options: { host: f.host, port: f.port, red5Home: f.home, restartCommand: o.restartCommand, apps: undefined, capacity: undefined },
    clock: h.clock,
    log: o.logs ? createLogger('info', { write: (line: string) => void o.logs!.push(line) }) : createLogger('silent'),
    serverApi,
    manager,
    restart: runRestartCommand,
    osLoad: () => ({ loadavg1: 0.5, cpus: 2 }),
  });
  t.after(async () => {
    agent.stop();
    await agent.idle();
    await Promise.all([serverApi.close(), manager.close()]);
  });
  return agent;
}

const restartCommand = (f: FakeRed5) => `echo restarted >> '${join(f.home, 'restarts.log')}'`;

describe('node agent for real Red5 Pro nodes, against a fake Server API and a real manager', () => {
  it('reports, links edges through cluster.xml, gets streams brokered, and goes silent when the Server API stops', async (t) => {
    const h = await startHarness(t);
    const speed = h.rt.config.cluster.reportingSpeed;
    const { origin, edges } = await redCluster(t, h, 200);
    const [e1, e2] = edges;
    const agents = new Map([origin, ...edges].map((f) => [f, agentFor(t, h, f, { restartCommand: restartCommand(f) })]));
    const period = async (ms = speed) => {
      await h.clock.advance(ms);
      await Promise.all([...agents.values()].map((a) => a.idle()));
      await h.rt.protocol.flush();
    };
    for (const [, a] of agents) {
      await a.start();
      await a.idle();
    }

    // In service with the role the manager gave; the origin's cluster.xml is left as installed.
    for (const f of [origin, ...edges]) assert.equal(h.rt.view.nodes.get(f.host)?.state, 'inservice', f.host);
    assert.equal(h.rt.view.nodes.get(origin.host)?.role, 'origin');
    assert.equal(readFileSync(origin.clusterXml, 'utf8'), stock);
    assert.equal(existsSync(`${origin.clusterXml}.bak`), false);
    assert.equal(restarts(origin), 0);
    // Each edge's cluster.xml lists the origin (and nothing else changed), with a backup, and Red5 was restarted.
    for (const e of edges) {
      const xml = readFileSync(e.clusterXml, 'utf8');
      assert.deepEqual(readOrigins(xml), [origin.host]);
      assert.equal(xml, stock.replace('\t\t\t</list>', `\t\t\t\t<value>${origin.host}</value>\n\t\t\t</list>`));
      assert.equal(readFileSync(`${e.clusterXml}.bak`, 'utf8'), stock);
      assert.equal(restarts(e), 1);
      assert.equal(h.rt.view.relation(origin.host, e.host)?.state, 'connecting');
    }

    // The Server API answered after the restart: the links are established.
    await period();
    for (const e of edges) assert.equal(h.rt.view.relation(origin.host, e.host)?.state, 'established', e.host);
    const rel = await h.api('GET', `/admin/nodegroup/${h.rt.view.nodes.get(origin.host)!.group}/node/relations?linkstate=true`);
    assert.equal(rel.status, 200);
    assert.match(rel.text, /established/);
    for (const e of edges) assert.equal(restarts(e), 1, 'no second restart once cluster.xml is right');

    // A stream live in the origin's Server API is brokered: broadcast → origin, subscribe → an edge.
    const subscribe = () => h.api('GET', '/streammanager/api/4.0/event/live/show?action=subscribe');
    assert.equal((await subscribe()).status, 404);
    origin.setStream('live', 'show', 0);
    await period();
    assert.equal(h.rt.view.stream(origin.host, 'live', 'show')?.publishers, 1);
    const pub = await h.api('GET', '/streammanager/api/4.0/event/live/show?action=broadcast');
    assert.equal(pub.json.serverAddress, origin.host, pub.text);
    const picked = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const r = await subscribe();
      assert.equal(r.status, 200, r.text);
      picked.add(r.json.serverAddress);
    }
    assert.deepEqual([...picked].sort(), [e1.host, e2.host].sort());

    // e1's Server API stops answering: its agent sends nothing, and after two periods no subscriber goes there.
    const lastHeard = h.rt.view.nodes.get(e1.host)!.lastReport;
    await e1.down();
    await period();
    await period();
    await period(1);
    assert.equal(h.rt.view.nodes.get(e1.host)!.lastReport, lastHeard, 'no report from a node whose Server API is down');
    for (let i = 0; i < 8; i++) assert.equal((await subscribe()).json.serverAddress, e2.host);

    // The stream ends on the origin: the agent says so at once (unpublish) and the broker stops handing it out.
    origin.removeStream('live', 'show');
    await period();
    assert.equal(h.rt.view.stream(origin.host, 'live', 'show'), undefined);
    assert.equal((await subscribe()).status, 404);
  });

  it('retries a Red5 that is still starting, and reports the link as error when the restart command fails', async (t) => {
    const h = await startHarness(t);
    const speed = h.rt.config.cluster.reportingSpeed;
    const { origin, edges } = await redCluster(t, h, 205);
    const [e1, e2] = edges;
    await e2.down();
    const logs: string[] = [];
    const a0 = agentFor(t, h, origin, { logs });
    await a0.start();
    await a0.idle();
    const a1 = agentFor(t, h, e1, { restartCommand: 'echo cannot restart >&2; exit 3' });
    await a1.start();
    await a1.idle();
    const watch: PingWatch = { pings: 0, waiters: [] };
    const a2 = agentFor(t, h, e2, { restartCommand: restartCommand(e2), watch });
    let started = false;
    const starting = a2.start().then(() => (started = true));
    await pingsDone(watch, 1);
    await h.clock.advance(999);
    assert.equal(watch.pings, 1, 'the retry waits its back-off');
    await h.clock.advance(1);
    await pingsDone(watch, 2);
    await h.clock.advance(2_000);
    await pingsDone(watch, 3);
    assert.equal(started, false, 'refused connections are retried, not fatal');
    assert.equal(h.rt.view.nodes.get(e2.host)?.state, 'pending');
    await e2.up();
    await h.clock.advance(4_000);
    await starting;
    assert.equal(watch.pings, 4);
    await a2.idle();
    assert.equal(h.rt.view.nodes.get(e2.host)?.state, 'inservice');

    await h.clock.advance(speed);
    await Promise.all([a0, a1, a2].map((a) => a.idle()));
    await h.rt.protocol.flush();
    assert.equal(h.rt.view.relation(origin.host, e1.host)?.state, 'error', 'the restart failed');
    assert.deepEqual(a1.links, [{ parent: `${origin.host}:${origin.port}`, state: 'error' }]);
    assert.equal(h.rt.view.relation(origin.host, e2.host)?.state, 'established');

    // Red5 has no "refuse new clients" switch: the agent logs the drain, the broker does the rest.
    assert.equal(await h.rt.ops.drain(origin.host, 'test'), true);
    await h.clock.advance(speed);
    await a0.idle();
    const drained = logs.map((l) => JSON.parse(l)).find((l) => l.drain === true);
    assert.match(drained?.msg ?? '', /draining/);
    const all = logs.join('\n');
    assert.ok(!all.includes(NODE_TOKEN) && !all.includes(CLUSTER_PASSWORD), 'no secret in the agent log');
  });

  it('a wrong Server API token exits non-zero naming security.accessToken, without the token', async (t) => {
    const f = await startFakeRed5(t, '127.0.0.210', NODE_TOKEN);
    const args = ['--import', 'tsx', 'src/agent/cli.ts', '--manager', 'http://127.0.0.1:9', '--password', 'pw', '--host', f.host,
      '--red5', f.base, '--api-token', 'wrong-token-4711', '--red5-home', f.home, '--log-level', 'silent'];
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, args, { cwd: new URL('../..', import.meta.url).pathname, timeout: 60_000 }, (_err, _out, stderr) =>
        resolve({ code: child.exitCode, stderr }),
      );
    });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /security\.accessToken/);
    assert.match(stderr, /401/);
    assert.ok(!stderr.includes('wrong-token-4711'), 'the token is not printed');
  });
});
