import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/lib/logger.ts';
import { createHttpApp } from '../../src/app.ts';
import { ClusterView } from '../../src/cluster/view.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.ts';
import { opsRoutes, readinessCheck, type Readiness } from '../../src/http/routes/ops.ts';
import type { ClusterNode, NodeGroup } from '../../src/domain/types.ts';
import { pluginApp } from '../support/http.ts';
import { makeNode } from '../support/node-fixture.ts';

const T0 = 1_700_000_000_000;

function node(address: string, over: Partial<ClusterNode>): ClusterNode {
  return makeNode(address, T0, { launchTime: T0, stateUpdated: T0, ...over });
}

const group = (name: string): NodeGroup => ({
  id: 1,
  name,
  regions: ['us-test1'],
  launchConfig: 'lc',
  scalePolicy: 'sp',
  state: 'active',
  baseCapacity: 0,
  timestamp: T0,
});

/** g1: origin (1 publisher), two inservice edges (30 + 10 subs), a draining edge (50 subs), one edge launching; g2: a pending origin. */
function populatedView(): ClusterView {
  const v = new ClusterView();
  v.setGroup(group('g1'));
  v.setGroup(group('g2'));
  v.setNode(node('10.0.0.1', { role: 'origin', connections: { publishers: 1, subscribers: 0 } }));
  v.setNode(node('10.0.0.2', { connections: { publishers: 0, subscribers: 30 } }));
  v.setNode(node('10.0.0.3', { connections: { publishers: 0, subscribers: 10 } }));
  v.setNode(node('10.0.0.4', { state: 'draining', connections: { publishers: 0, subscribers: 50 } }));
  v.launching.set('node-x', { identifier: 'node-x', group: 'g1', role: 'edge', zone: 'us-test1-a', since: T0 });
  v.setNode(node('10.0.0.9', { group: 'g2', role: 'origin', state: 'pending', lastReport: null }));
  return v;
}

/** The value of one series (labels must match exactly); undefined when the series is absent. */
async function value(m: Metrics, name: string, labels: Record<string, string | number> = {}, metricName = name): Promise<number | undefined> {
  const metric = m.registry.getSingleMetric(name.replace(/_(bucket|count|sum)$/, ''));
  assert.ok(metric, `metric ${name} is registered`);
  const data = await metric.get();
  const want = JSON.stringify(Object.entries(labels).map(([k, v]) => [k, String(v)]).sort());
  const hit = data.values.find(
    (x) => ((x as { metricName?: string }).metricName ?? data.name) === metricName && JSON.stringify(Object.entries(x.labels).map(([k, v]) => [k, String(v)]).sort()) === want,
  );
  return hit?.value;
}

test('nodes gauge counts nodes per group, role and state, with zeros and launches in flight', async () => {
  const view = populatedView();
  const m = createMetrics({ view, clock: new ManualClock() });
  assert.equal(await value(m, 'nodes', { group: 'g1', role: 'edge', state: 'inservice' }), 2);
  assert.equal(await value(m, 'nodes', { group: 'g1', role: 'edge', state: 'draining' }), 1);
  assert.equal(await value(m, 'nodes', { group: 'g1', role: 'edge', state: 'launching' }), 1);
  assert.equal(await value(m, 'nodes', { group: 'g1', role: 'edge', state: 'pending' }), 0);
  assert.equal(await value(m, 'nodes', { group: 'g1', role: 'origin', state: 'inservice' }), 1);
  assert.equal(await value(m, 'nodes', { group: 'g2', role: 'origin', state: 'pending' }), 1);
  assert.equal(await value(m, 'nodes', { group: 'g2', role: 'edge', state: 'inservice' }), undefined, 'roles a group does not use have no series');

  // Computed at scrape time: the next scrape sees the change, and a state that empties drops to 0.
  view.setNode({ ...view.nodes.get('10.0.0.4')!, state: 'terminated' });
  assert.equal(await value(m, 'nodes', { group: 'g1', role: 'edge', state: 'draining' }), 0);
  assert.equal(await value(m, 'nodes', { group: 'g1', role: 'edge', state: 'terminated' }), 1);
});

test('group_load_percent is connections (hand-outs included) / capacity x 100 over inservice nodes only', async () => {
  const view = populatedView();
  const m = createMetrics({ view, clock: new ManualClock() });
  // Edges: (30 + 10) / (100 + 100); the draining edge's 50 subscribers do not count.
  assert.equal(await value(m, 'group_load_percent', { group: 'g1', role: 'edge' }), 20);
  assert.equal(await value(m, 'group_load_percent', { group: 'g1', role: 'origin' }), 1);
  assert.equal(await value(m, 'group_load_percent', { group: 'g2', role: 'origin' }), undefined, 'no inservice node, no load');

  view.setNode({ ...view.nodes.get('10.0.0.3')!, capacity: 300, connections: { publishers: 0, subscribers: 130 } });
  assert.equal(await value(m, 'group_load_percent', { group: 'g1', role: 'edge' }), 40);
  // Clients the broker handed out since the last report count, as they do for the autoscaler.
  view.noteHandedOut('10.0.0.3', 40);
  assert.equal(await value(m, 'group_load_percent', { group: 'g1', role: 'edge' }), 50);
});

test('nodes_unresponsive counts serving nodes that missed two reports, on the injected clock', async () => {
  const view = populatedView();
  const clock = new ManualClock(T0);
  const m = createMetrics({ view, clock });
  assert.equal(await value(m, 'nodes_unresponsive', { group: 'g1', role: 'edge' }), 0);
  view.setNode({ ...view.nodes.get('10.0.0.2')!, lastReport: T0 + 15_000 });
  clock.set(T0 + 20_001); // past 2 x 10 s for every node but 10.0.0.2
  assert.equal(await value(m, 'nodes_unresponsive', { group: 'g1', role: 'edge' }), 2, 'the other inservice edge and the draining one');
  assert.equal(await value(m, 'nodes_unresponsive', { group: 'g1', role: 'origin' }), 1);
  assert.equal(await value(m, 'nodes_unresponsive', { group: 'g2', role: 'origin' }), undefined, 'pending nodes are not expected to report yet');
});

test('request counts past the cell cap still reach the counter', async () => {
  const m = createMetrics({ view: new ClusterView(), clock: new ManualClock() });
  for (let i = 0; i < 5_002; i++) m.observeRequest(`/r${i}`, 'GET', 200);
  m.observeRequest('/r5001', 'GET', 200);
  m.observeRequest('/r0', 'GET', 200);
  assert.equal(await value(m, 'http_requests_total', { route: '/r5001', method: 'GET', status: 200 }), 2);
  assert.equal(await value(m, 'http_requests_total', { route: '/r0', method: 'GET', status: 200 }), 2);
});

test('request, broker and scale-event counters increment per label set', async () => {
  const m = createMetrics({ view: new ClusterView(), clock: new ManualClock() });
  assert.equal(await value(m, 'scale_events_total', { kind: 'launch' }), 0, 'every kind starts at 0');

  m.observeRequest('/streammanager/api/:version/admin/nodegroup/:group', 'GET', 200);
  m.observeRequest('/streammanager/api/:version/admin/nodegroup/:group', 'GET', 200);
  m.observeRequest('/streammanager/api/:version/admin/nodegroup/:group', 'GET', 404);
  m.observeRequest(undefined, 'GET', 404);
  assert.equal(await value(m, 'http_requests_total', { route: '/streammanager/api/:version/admin/nodegroup/:group', method: 'GET', status: 200 }), 2);
  assert.equal(await value(m, 'http_requests_total', { route: '/streammanager/api/:version/admin/nodegroup/:group', method: 'GET', status: 404 }), 1);
  assert.equal(await value(m, 'http_requests_total', { route: 'unmatched', method: 'GET', status: 404 }), 1);
  // Counts held between scrapes add to what earlier scrapes moved into the counter.
  m.observeRequest('/streammanager/api/:version/admin/nodegroup/:group', 'GET', 200);
  assert.equal(await value(m, 'http_requests_total', { route: '/streammanager/api/:version/admin/nodegroup/:group', method: 'GET', status: 200 }), 3);
  assert.equal(await value(m, 'http_requests_total', { route: '/streammanager/api/:version/admin/nodegroup/:group', method: 'GET', status: 404 }), 1);

  m.brokerDecision('subscribe', 'ok');
  m.brokerDecision('subscribe', 'ok');
  m.brokerDecision('broadcast', 'full');
  assert.equal(await value(m, 'broker_decisions_total', { action: 'subscribe', outcome: 'ok' }), 2);
  assert.equal(await value(m, 'broker_decisions_total', { action: 'broadcast', outcome: 'full' }), 1);

  m.scaleEvent({ kind: 'launch' });
  m.scaleEvent({ kind: 'launch' });
  m.scaleEvent({ kind: 'terminate' });
  assert.equal(await value(m, 'scale_events_total', { kind: 'launch' }), 2);
  assert.equal(await value(m, 'scale_events_total', { kind: 'terminate' }), 1);
});

test('report lag and autoscaler tick histograms observe seconds', async () => {
  const m = createMetrics({ view: new ClusterView(), clock: new ManualClock() });
  m.reportLag(node('10.0.0.2', {}), 0);
  m.reportLag(node('10.0.0.2', {}), 1500);
  assert.equal(await value(m, 'node_report_lag_seconds', {}, 'node_report_lag_seconds_count'), 2);
  assert.equal(await value(m, 'node_report_lag_seconds', {}, 'node_report_lag_seconds_sum'), 1.5);
  assert.equal(await value(m, 'node_report_lag_seconds', { le: 1 }, 'node_report_lag_seconds_bucket'), 1);
  assert.equal(await value(m, 'node_report_lag_seconds', { le: 2.5 }, 'node_report_lag_seconds_bucket'), 2);

  m.autoscalerTick(20);
  assert.equal(await value(m, 'autoscaler_tick_duration_seconds', {}, 'autoscaler_tick_duration_seconds_count'), 1);
  assert.equal(await value(m, 'autoscaler_tick_duration_seconds', {}, 'autoscaler_tick_duration_seconds_sum'), 0.02);
});

test('proxy and autoscaler sources are read at scrape time; byte counters follow the source totals', async () => {
  const clock = new ManualClock(T0);
  const m = createMetrics({ view: new ClusterView(), clock });
  assert.equal(await value(m, 'proxy_sessions'), 0, 'no proxy: no sessions');
  assert.equal(await value(m, 'autoscaler_leader'), 0, 'no autoscaler: not the leader');
  assert.equal(await value(m, 'proxy_bytes_total', { direction: 'in' }), undefined);

  const proxy = { sessions: 3, bytesIn: 1000, bytesOut: 5000 };
  const status = { leader: true, lastSuccessAt: T0 - 2000 as number | null, lastDurationMs: 12 };
  m.setSources({ proxyStats: () => ({ ...proxy }), autoscalerStatus: () => ({ ...status }) });

  assert.equal(await value(m, 'proxy_sessions'), 3);
  assert.equal(await value(m, 'proxy_bytes_total', { direction: 'in' }), 1000);
  assert.equal(await value(m, 'proxy_bytes_total', { direction: 'out' }), 5000);
  proxy.sessions = 1;
  proxy.bytesIn = 1500;
  assert.equal(await value(m, 'proxy_sessions'), 1);
  assert.equal(await value(m, 'proxy_bytes_total', { direction: 'in' }), 1500, 'a scrape adds the growth, not the total again');
  assert.equal(await value(m, 'proxy_bytes_total', { direction: 'out' }), 5000);
  proxy.bytesIn = 200; // proxy restarted: its total starts over
  assert.equal(await value(m, 'proxy_bytes_total', { direction: 'in' }), 1700, 'a counter never goes down');

  assert.equal(await value(m, 'autoscaler_leader'), 1);
  assert.equal(await value(m, 'autoscaler_last_success_timestamp_seconds'), (T0 - 2000) / 1000);
  status.leader = false;
  status.lastSuccessAt = null;
  assert.equal(await value(m, 'autoscaler_leader'), 0);
  assert.equal(await value(m, 'autoscaler_last_success_timestamp_seconds'), 0, '0 = never');
});

test('each manager has its own registry, with default process metrics', async () => {
  const a = createMetrics({ view: new ClusterView(), clock: new ManualClock() });
  const b = createMetrics({ view: new ClusterView(), clock: new ManualClock() });
  a.brokerDecision('subscribe', 'ok');
  assert.equal(await value(a, 'broker_decisions_total', { action: 'subscribe', outcome: 'ok' }), 1);
  assert.equal(await value(b, 'broker_decisions_total', { action: 'subscribe', outcome: 'ok' }), undefined);
  const text = await a.metrics();
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
});

// ---- HTTP

const okReady = async (): Promise<Readiness> => ({ ok: true, store: 'ok', leader: true, autoscaler: { ticks: 3 } });

test('GET /metrics answers Prometheus text; with a token it needs the bearer header', async (t) => {
  const view = populatedView();
  const m = createMetrics({ view, clock: new ManualClock() });
  m.brokerDecision('subscribe', 'ok');
  const app = await pluginApp(t, { root: [opsRoutes({ metrics: m, token: 'scrape-secret', ready: okReady })] });

  const none = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(none.statusCode, 401);
  assert.match(none.headers['content-type'] as string, /application\/json/);
  assert.equal(typeof none.json().errorMessage, 'string');
  assert.equal(typeof none.json().timestamp, 'number');
  const wrong = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.statusCode, 401);
  assert.doesNotMatch(wrong.body, /scrape-secret/);

  const ok = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-secret' } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.headers['content-type'], m.contentType);
  assert.match(ok.body, /^nodes\{group="g1",role="edge",state="inservice"\} 2$/m);
  assert.match(ok.body, /^group_load_percent\{group="g1",role="edge"\} 20$/m);
  assert.match(ok.body, /^broker_decisions_total\{action="subscribe",outcome="ok"\} 1$/m);
});

test('GET /metrics is open when no token is configured', async (t) => {
  const m = createMetrics({ view: populatedView(), clock: new ManualClock() });
  const app = await pluginApp(t, { root: [opsRoutes({ metrics: m, token: '', ready: okReady })] });
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /^# TYPE http_requests_total counter$/m);
});

test('GET /ready: 200 with the lease when the store answers, 503 JSON when it does not', async (t) => {
  const m = createMetrics({ view: new ClusterView(), clock: new ManualClock() });
  let state: Readiness = { ok: true, store: 'ok', leader: true, autoscaler: { ticks: 3 } };
  const app = await pluginApp(t, { root: [opsRoutes({ metrics: m, token: 'x', ready: async () => state })] });

  const up = await app.inject({ method: 'GET', url: '/ready' });
  assert.equal(up.statusCode, 200, 'no token needed for readiness');
  assert.equal(up.json().store, 'ok');
  assert.equal(up.json().leader, true);
  assert.equal(up.json().autoscaler, undefined, 'details are for administrators (GET /admin/debug/status)');

  state = { ok: false, store: 'unavailable: ECONNREFUSED', leader: false, autoscaler: null };
  const down = await app.inject({ method: 'GET', url: '/ready' });
  assert.equal(down.statusCode, 503);
  assert.match(down.headers['content-type'] as string, /application\/json/);
  const body = down.json();
  assert.match(body.errorMessage, /database/);
  assert.equal(typeof body.timestamp, 'number');
  assert.equal(body.store, 'unavailable: ECONNREFUSED');
  assert.equal(body.leader, false);
});

test('GET /ready carries no credential, host name or error text while the database is down; the admin status route does', async (t) => {
  const m = createMetrics({ view: new ClusterView(), clock: new ManualClock() });
  const leak = "connect ECONNREFUSED sm_user@db.internal.example:3306/cluster";
  const ready = readinessCheck({
    store: { ping: () => Promise.reject(Object.assign(new Error(leak), { code: 'ECONNREFUSED' })) },
    lease: { held: false },
    autoscaler: () => ({ leader: false, lastError: leak }),
  });
  const app = await pluginApp(t, { root: [opsRoutes({ metrics: m, token: '', ready })] });
  const r = await app.inject({ method: 'GET', url: '/ready' });
  assert.equal(r.statusCode, 503);
  assert.equal(r.json().store, 'unavailable: ECONNREFUSED');
  assert.doesNotMatch(r.body, /sm_user|db\.internal|3306|cluster"|lastError/);
  assert.equal((await ready()).autoscaler && ((await ready()).autoscaler as { lastError: string }).lastError, leak, 'kept for the admin route');
});

test('GET /ready answers 503 when the check throws or hangs', async (t) => {
  const m = createMetrics({ view: new ClusterView(), clock: new ManualClock() });
  const throwing = await pluginApp(t, { root: [opsRoutes({ metrics: m, token: '', ready: () => Promise.reject(new Error('boom')) })] });
  const r1 = await throwing.inject({ method: 'GET', url: '/ready' });
  assert.equal(r1.statusCode, 503);
  assert.equal(typeof r1.json().errorMessage, 'string');

  const clock = new ManualClock();
  const hanging = await pluginApp(t, { root: [opsRoutes({ metrics: m, token: '', clock, readyTimeoutMs: 3000, ready: () => new Promise<Readiness>(() => {}) })] });
  const pending = hanging.inject({ method: 'GET', url: '/ready' });
  await clock.advance(3000);
  const r2 = await pending;
  assert.equal(r2.statusCode, 503);
  assert.equal(r2.json().store, 'timeout');
});

test('readinessCheck pings the store, reports the lease and keeps error messages out of the answer', async () => {
  let fail = false;
  const store = {
    async ping() {
      if (fail) throw Object.assign(new Error("Access denied for user 'sm'@'10.1.2.3'"), { code: 'ER_ACCESS_DENIED_ERROR' });
    },
  };
  const check = readinessCheck({ store, lease: { held: true }, autoscaler: () => ({ lastError: null }) });
  assert.deepEqual(await check(), { ok: true, store: 'ok', leader: true, autoscaler: { lastError: null } });
  fail = true;
  const r = await check();
  assert.equal(r.ok, false);
  assert.equal(r.store, 'unavailable: ER_ACCESS_DENIED_ERROR');
  assert.doesNotMatch(JSON.stringify(r), /10\.1\.2\.3|Access denied/);
});

test('observeRequests counts by route pattern, and unmatched URLs under one label', async (t) => {
  const m = createMetrics({ view: new ClusterView(), clock: new ManualClock() });
  const things = async (app: import('fastify').FastifyInstance) => {
    app.get('/things/:id', async () => ({ ok: true }));
  };
  // The app shell installs observeRequests itself when given the metrics.
  const app = await createHttpApp({ log: createLogger('silent'), adminToken: 'x', metrics: m, routes: { root: [things], admin: [], public: [] } });
  t.after(() => app.close());
  await app.inject({ method: 'GET', url: '/things/1' });
  await app.inject({ method: 'GET', url: '/things/2' });
  await app.inject({ method: 'GET', url: '/no/such/path' });
  assert.equal(await value(m, 'http_requests_total', { route: '/things/:id', method: 'GET', status: 200 }), 2);
  assert.equal(await value(m, 'http_requests_total', { route: 'unmatched', method: 'GET', status: 404 }), 1);
  const text = await m.metrics();
  assert.doesNotMatch(text, /\/things\/1|\/no\/such\/path/, 'raw URLs never become labels');
});
