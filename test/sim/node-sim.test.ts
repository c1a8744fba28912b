import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import Fastify from 'fastify';
import { request } from 'undici';
import { ManualClock, flush } from '../../src/lib/manual-clock.ts';
import { client } from '../support/ws.ts';
import { createNodeApi } from '../../src/cloud/node-api.ts';
import { SimRequestError, startSimCluster, startSimNode, type SimNode, type SimNodeOptions } from '../../src/sim/node-sim.ts';

const PASSWORD = 'cluster-secret';

interface Recorded {
  headers: Record<string, unknown>;
  body: Record<string, unknown>;
}

/** A stand-in manager: records every cloudwatch request and answers what the test scripts. */
async function fakeManager(t: TestContext) {
  const requests: Recorded[] = [];
  let answer: (body: Record<string, unknown>) => { code: number; body: unknown } = () => ({
    code: 200,
    body: { status: 'unknown', reportingSpeed: 5000 },
  });
  const app = Fastify();
  app.post('/streammanager/cloudwatch', async (req, reply) => {
    const body = req.body as Record<string, unknown>;
    requests.push({ headers: req.headers, body });
    const r = answer(body);
    return reply.code(r.code).send(r.body);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reports: () => requests.filter((r) => r.body.type === 'report'),
    answer(fn: typeof answer) {
      answer = fn;
    },
  };
}

async function node(t: TestContext, opts: Partial<SimNodeOptions> & { manager: string; host?: string }): Promise<SimNode> {
  const n = await startSimNode({ host: '127.0.0.2', port: 0, clusterPassword: PASSWORD, autoReport: false, ...opts });
  t.after(() => n.stop());
  return n;
}

const pingApi = (token = '') => createNodeApi({ protocol: 'http', port: 5080, version: 'v1', accessToken: token, timeout: 1000 });

test('a report carries host, port, capacity, connection sums, streams and the cluster password as bearer', async (t) => {
  const m = await fakeManager(t);
  const n = await node(t, { manager: m.url, capacity: 500 });
  n.setStreams([
    { scope: 'live', name: 'stream1', publishers: 1, subscribers: 100 },
    { scope: '/live', name: 'stream2', publishers: 1, subscribers: 20 },
  ]);
  n.addSubscribers(5);
  n.setMetrics({ cpu: 0.25, memory: 0.5 });
  const reply = await n.report();
  assert.equal(reply.status, 'unknown');
  assert.equal(m.requests.length, 1);
  assert.equal(m.requests[0].headers.authorization, `Bearer ${PASSWORD}`);
  assert.match(String(m.requests[0].headers['content-type']), /application\/json/);
  assert.deepEqual(m.requests[0].body, {
    type: 'report',
    host: '127.0.0.2',
    port: n.port,
    capacity: 500,
    connections: { publishers: 2, subscribers: 125 },
    streams: [
      { scope: '/live', name: 'stream1', publishers: 1, subscribers: 100 },
      { scope: '/live', name: 'stream2', publishers: 1, subscribers: 20 },
    ],
    links: [],
    cpu: 0.25,
    memory: 0.5,
  });
  assert.equal(n.reportsSent, 1);
  assert.deepEqual(n.lastReply, { status: 'unknown', reportingSpeed: 5000 });
});

test('a refused report rejects with the status and is still counted as sent', async (t) => {
  const m = await fakeManager(t);
  m.answer(() => ({ code: 401, body: { errorMessage: 'bad password', timestamp: 1 } }));
  const n = await node(t, { manager: m.url });
  await assert.rejects(n.report(), (e: unknown) => e instanceof SimRequestError && e.statusCode === 401);
  assert.equal(n.reportsSent, 1);
  assert.equal(n.lastReply, null);
});

test("the reply's reportingSpeed schedules the next report on the injected clock", async (t) => {
  const m = await fakeManager(t);
  let speed = 5000;
  m.answer(() => ({ code: 200, body: { status: 'unknown', reportingSpeed: speed } }));
  const clock = new ManualClock();
  const n = await node(t, { manager: m.url, clock, autoReport: true, reportingSpeed: 1000 });
  await n.waitForReports(1); // the first report goes out at once
  assert.equal(m.reports().length, 1);
  assert.equal(n.state.reportingSpeed, 5000);
  assert.equal(clock.pendingTimers, 1);

  await clock.advance(4999);
  assert.equal(clock.pendingTimers, 1, 'the next report must wait for the full 5000 ms the reply asked for');
  assert.equal(n.reportsSent, 1);
  speed = 2000;
  await clock.advance(1);
  await n.waitForReports(2);
  assert.equal(m.reports().length, 2);

  // The second reply changed the pace.
  await clock.advance(1999);
  assert.equal(clock.pendingTimers, 1);
  assert.equal(n.reportsSent, 2);
  await clock.advance(1);
  await n.waitForReports(3);
  assert.equal(m.reports().length, 3);
});

test('reply parents are reported as established links next time; dropped parents disappear', async (t) => {
  const m = await fakeManager(t);
  let parents: string[] = ['127.0.0.3:8081', '127.0.0.4:8081'];
  m.answer(() => ({
    code: 200,
    body: { status: 'assigned', identifier: 'node-us-test1-a-1', group: 'grp1', role: 'edge', parents, reportingSpeed: 3000, drain: false },
  }));
  const n = await node(t, { manager: m.url });
  await n.report();
  assert.deepEqual(m.reports()[0].body.links, []);
  assert.deepEqual(n.state, {
    status: 'assigned',
    identifier: 'node-us-test1-a-1',
    group: 'grp1',
    role: 'edge',
    parents: ['127.0.0.3:8081', '127.0.0.4:8081'],
    drain: false,
    reportingSpeed: 3000,
  });
  parents = ['127.0.0.4:8081'];
  await n.report();
  assert.deepEqual(m.reports()[1].body.links, [
    { parent: '127.0.0.3:8081', state: 'established' },
    { parent: '127.0.0.4:8081', state: 'established' },
  ]);
  await n.report();
  assert.deepEqual(m.reports()[2].body.links, [{ parent: '127.0.0.4:8081', state: 'established' }]);
});

test('drain and role changes are stored and announced once', async (t) => {
  const m = await fakeManager(t);
  let drain = false;
  m.answer(() => ({ code: 200, body: { status: 'assigned', group: 'g', role: 'origin', parents: [], reportingSpeed: 1000, drain } }));
  const changes: string[] = [];
  const n = await node(t, { manager: m.url, onStateChange: (_n, prev, next) => changes.push(`${prev.status}->${next.status}:${next.drain}`) });
  await n.report();
  await n.report();
  drain = true;
  await n.report();
  assert.equal(n.state.drain, true);
  assert.equal(n.state.role, 'origin');
  assert.deepEqual(changes, ['none->assigned:false', 'assigned->assigned:true']);
});

test('publish and unpublish are sent at once and change the next report', async (t) => {
  const m = await fakeManager(t);
  const n = await node(t, { manager: m.url });
  await n.publish('live', 'stream1');
  assert.deepEqual(m.requests[0].body, { type: 'publish', host: '127.0.0.2', scope: '/live', name: 'stream1' });
  assert.equal(m.requests[0].headers.authorization, `Bearer ${PASSWORD}`);
  assert.deepEqual(n.buildReport().streams, [{ scope: '/live', name: 'stream1', publishers: 1, subscribers: 0 }]);
  n.setSubscribers('live', 'stream1', 40);
  assert.deepEqual(n.buildReport().connections, { publishers: 1, subscribers: 40 });
  assert.equal(m.requests.length, 1, 'load changes wait for the next report');
  await n.unpublish('/live', 'stream1');
  assert.deepEqual(m.requests[1].body, { type: 'unpublish', host: '127.0.0.2', scope: '/live', name: 'stream1' });
  assert.deepEqual(n.buildReport().streams, []);
});

test('ping answers the Server API envelope and checks the node token when set', async (t) => {
  const m = await fakeManager(t);
  const clock = new ManualClock(1_700_000_123_000);
  const n = await node(t, { manager: m.url, accessToken: 'node-token', clock });
  const ok = await request(`${n.url}/api/v1/server/ping?accessToken=node-token`);
  assert.equal(ok.statusCode, 200);
  const body = (await ok.body.json()) as Record<string, unknown>;
  assert.equal(body.status, 'success');
  assert.equal(body.code, 200);
  assert.equal(body.timestamp, 1_700_000_123_000);
  assert.equal(typeof body.data, 'object');

  const other = await request(`${n.url}/api/v2/server/ping?accessToken=node-token`);
  assert.equal(other.statusCode, 200, 'any version segment');
  await other.body.dump();

  const bad = await request(`${n.url}/api/v1/server/ping?accessToken=wrong`);
  assert.equal(bad.statusCode, 401);
  assert.deepEqual({ ...((await bad.body.json()) as object), timestamp: 0, data: null }, { status: 'error', code: 401, data: null, timestamp: 0 });

  assert.equal(await pingApi('node-token').ping('127.0.0.2', n.port), true);
  assert.equal(await pingApi('wrong').ping('127.0.0.2', n.port), false);
  assert.equal(await pingApi('').ping('127.0.0.2', n.port), false);
});

test('WebSocket: first frame is byte-identical to a Red5 Pro node, then text and binary frames echo unchanged', async (t) => {
  const m = await fakeManager(t);
  const n = await node(t, { manager: m.url, host: '127.0.0.3' });
  const c = await client(`ws://127.0.0.3:${n.port}/live/room1?id=sub-1&host=127.0.0.3`, ['json'], { headers: { 'x-forwarded-for': '10.1.2.3' } });
  t.after(() => c.ws.terminate());
  const first = await c.frame(1);
  assert.equal(first.binary, false);
  assert.equal(first.data.toString('utf8'), '{"data":{"type":"status","code":"NetConnection.Connect.Success"}}');
  assert.equal(c.ws.protocol, 'json');

  const text = '{"handleOffer":"stream1","transport":"udp","data":{"sdp":"v=0\\r\\n"}}';
  c.ws.send(text);
  const echoed = await c.frame(2);
  assert.equal(echoed.binary, false);
  assert.equal(echoed.data.toString('utf8'), text);

  const bin = Buffer.from([0, 1, 2, 250, 255]);
  c.ws.send(bin);
  const echoedBin = await c.frame(3);
  assert.equal(echoedBin.binary, true);
  assert.deepEqual(Buffer.from(echoedBin.data), bin);

  assert.equal(n.wsConnections.length, 1);
  assert.equal(n.wsConnections[0].url, '/live/room1?id=sub-1&host=127.0.0.3');
  assert.equal(n.wsConnections[0].protocol, 'json');
  assert.equal(n.wsConnections[0].headers['x-forwarded-for'], '10.1.2.3');
  assert.deepEqual(
    n.wsReceived.map((f) => [f.binary, f.data]),
    [
      [false, text],
      [true, bin],
    ],
  );
  assert.equal(n.wsOpen, 1);
  n.closeAllWebSockets(4001);
  assert.equal((await c.closed).code, 4001);
});

test('WebSocket without the json subprotocol gets none and still the first frame', async (t) => {
  const m = await fakeManager(t);
  const n = await node(t, { manager: m.url });
  const c = await client(`ws://127.0.0.2:${n.port}/live`);
  t.after(() => c.ws.terminate());
  assert.equal((await c.frame(1)).data.toString(), '{"data":{"type":"status","code":"NetConnection.Connect.Success"}}');
  assert.equal(c.ws.protocol, '');
});

test('kill stops pings, reports and WebSocket sessions; revive brings them back on the same port', async (t) => {
  const m = await fakeManager(t);
  const clock = new ManualClock();
  const n = await node(t, { manager: m.url, clock, autoReport: true, host: '127.0.0.4' });
  await n.waitForReports(1);
  const port = n.port;
  const c = await client(`ws://127.0.0.4:${port}/live`);
  await c.frame(1);
  assert.equal(await pingApi().ping('127.0.0.4', port), true);

  await n.kill();
  assert.equal(n.alive, false);
  assert.equal((await c.closed).code, 1006, 'sessions drop as on a crash');
  assert.equal(await pingApi().ping('127.0.0.4', port), false);
  assert.equal(clock.pendingTimers, 0, 'no report is scheduled');
  await clock.advance(60_000);
  await flush(20);
  assert.equal(m.reports().length, 1);
  await assert.rejects(n.report(), /not running/);

  await n.revive();
  assert.equal(n.port, port);
  assert.equal(await pingApi().ping('127.0.0.4', port), true);
  await n.waitForReports(2);
  assert.equal(m.reports().length, 2);
  assert.equal(clock.pendingTimers, 1, 'reporting resumed on schedule');
  const c2 = await client(`ws://127.0.0.4:${port}/live`);
  t.after(() => c2.ws.terminate());
  assert.equal((await c2.frame(1)).binary, false);
});

test('startSimCluster starts nodes on consecutive loopback addresses', async (t) => {
  const m = await fakeManager(t);
  const nodes = await startSimCluster(3, { firstHost: 20, port: 0, manager: m.url, clusterPassword: PASSWORD, autoReport: false });
  t.after(() => Promise.all(nodes.map((x) => x.stop())));
  assert.deepEqual(
    nodes.map((x) => x.host),
    ['127.0.0.20', '127.0.0.21', '127.0.0.22'],
  );
  for (const x of nodes) assert.equal(await pingApi().ping(x.host, x.port), true);
});
