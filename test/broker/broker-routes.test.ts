import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { pluginApp } from '../support/http.ts';
import { createHttpApp } from '../../src/app.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { configSchema, type Config } from '../../src/config/schema.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { openSqliteStore } from '../../src/store/sqlite-store.ts';
import { createProvisionCache } from '../../src/broker/provision-cache.ts';
import { createBroker } from '../../src/broker/broker.ts';
import { brokerRoutes } from '../../src/http/routes/broker.ts';
import { ClusterView, T0, SPEED, add, link, publish, carry, simpleCluster } from './support.ts';

const BASE = '/streammanager/api/4.0';

async function setup(
  t: TestContext,
  view: ClusterView,
  opts: { regions?: string[]; config?: Record<string, unknown>; provisions?: [string, string][] } = {},
) {
  const clock = new ManualClock(T0);
  const config: Config = configSchema.parse(opts.config ?? {});
  const store = openSqliteStore(':memory:');
  t.after(() => store.close());
  const provisions = createProvisionCache({ store, clock });
  for (const [scope, name] of opts.provisions ?? []) await provisions.create(scope, name, { qos: 3 });
  await provisions.load();
  const regions = opts.regions ?? ['us-test1'];
  const decisions: string[] = [];
  const broker = createBroker({ view, clock, config, regions, provisions, onDecision: (a, o) => decisions.push(`${a}:${o}`) });
  const app = await pluginApp(t, { hot: [brokerRoutes({ broker, view, clock, config, regions })] });
  const get = async (path: string) => {
    const r = await app.inject({ method: 'GET', url: path.startsWith('/streammanager') ? path : BASE + path });
    return { status: r.statusCode, type: String(r.headers['content-type']), body: r.body ? r.json() : undefined };
  };
  return { app, get, clock, decisions, provisions };
}

function assertError(r: { status: number; type: string; body: any }, status: number, re?: RegExp) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.type, /application\/json/);
  assert.equal(typeof r.body.errorMessage, 'string');
  assert.equal(typeof r.body.timestamp, 'number');
  if (re) assert.match(r.body.errorMessage, re);
}

test('E1/E2/E4: subscribe answers 200 JSON {serverAddress, scope with slash, name, region}', async (t) => {
  const v = simpleCluster(3);
  const { get } = await setup(t, v);
  const r = await get('/event/live/stream1?action=subscribe');
  assert.equal(r.status, 200);
  assert.match(r.type, /^application\/json/);
  assert.deepEqual(Object.keys(r.body).sort(), ['name', 'region', 'scope', 'serverAddress']);
  assert.equal(r.body.scope, '/live');
  assert.equal(r.body.name, 'stream1');
  assert.equal(r.body.region, 'us-test1');
  assert.match(r.body.serverAddress, /^10\.0\.1\.[123]$/);
});

test('E1: broadcast answers the least-loaded origin; every version uses the same shape', async (t) => {
  const v = new ClusterView();
  add(v, '10.0.0.1', 'origin', { load: 40 });
  add(v, '10.0.0.2', 'origin', { load: 5, region: 'us-test2' });
  const { get } = await setup(t, v);
  for (const ver of ['2.0', '3.0', '3.1', '4.0']) {
    const r = await get(`/streammanager/api/${ver}/event/live/new${ver}?action=broadcast`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { serverAddress: '10.0.0.2', scope: '/live', name: `new${ver}`, region: 'us-test2' });
  }
});

test('E7: multi-segment scope for broadcast and subscribe', async (t) => {
  const v = new ClusterView();
  add(v, 'o1', 'origin');
  add(v, 'e1', 'edge');
  link(v, 'o1', 'e1');
  publish(v, 'o1', 'live/room1', 'alice');
  const { get } = await setup(t, v);
  const s = await get('/event/live/room1/alice?action=subscribe');
  assert.equal(s.status, 200);
  assert.deepEqual(s.body, { serverAddress: 'e1', scope: '/live/room1', name: 'alice', region: 'us-test1' });
  const b = await get('/event/live/room1/bob?action=broadcast');
  assert.equal(b.status, 200);
  assert.equal(b.body.scope, '/live/room1');
  assert.equal(b.body.name, 'bob');
  // `alice` in `live` (not `live/room1`) is not live.
  assertError(await get('/event/live/alice?action=subscribe'), 404);
});

test('percent-encoded stream names are decoded; a trailing slash is tolerated', async (t) => {
  const v = new ClusterView();
  add(v, 'o1', 'origin');
  publish(v, 'o1', 'live', 'my stream');
  const { get } = await setup(t, v);
  const r = await get('/event/live/my%20stream?action=subscribe');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.name, 'my stream');
  const r2 = await get('/event/live/my%20stream/?action=subscribe');
  assert.equal(r2.body.name, 'my stream');
});

test('E3: action missing or unknown → 400 naming action', async (t) => {
  const { get } = await setup(t, simpleCluster());
  assertError(await get('/event/live/stream1'), 400, /action/);
  assertError(await get('/event/live/stream1?action=play'), 400, /action.*broadcast or subscribe/);
});

test('E3: bad endpoints, strict, transcode → 400 naming the parameter', async (t) => {
  const { get } = await setup(t, simpleCluster());
  for (const e of ['0', '65', 'abc', '-1', '1.5']) assertError(await get(`/event/live/stream1?action=subscribe&endpoints=${e}`), 400, /endpoints/);
  assertError(await get('/event/live/stream1?action=subscribe&strict=maybe'), 400, /strict/);
  assertError(await get('/event/live/stream1?action=broadcast&transcode=yes'), 400, /transcode/);
});

test('names: empty or over 254 characters → 400; scope required', async (t) => {
  const { get } = await setup(t, simpleCluster());
  assertError(await get(`/event/live/${'x'.repeat(255)}?action=broadcast`), 400, /254/);
  assert.equal((await get(`/event/live/${'x'.repeat(254)}?action=broadcast`)).status, 200);
  assertError(await get('/event/stream1?action=broadcast'), 400, /scope/);
  assertError(await get('/event/?action=broadcast'), 400, /stream name/);
  assertError(await get('/event//?action=broadcast'), 400);
});

test('accessToken and unknown parameters are accepted and ignored; repeated parameters use the first', async (t) => {
  const { get } = await setup(t, simpleCluster());
  const r = await get('/event/live/stream1?action=subscribe&accessToken=whatever&username=u&password=p&foo=bar&action=broadcast');
  assert.equal(r.status, 200);
  assert.match(r.body.serverAddress, /^10\.0\.1\./);
});

test('E3: subscribe to a stream that is not live → 404 JSON', async (t) => {
  const { get } = await setup(t, simpleCluster());
  assertError(await get('/event/live/nope?action=subscribe'), 404, /not live/);
});

test('E6: endpoints=N>1 → array of N distinct nodes; endpoints=1 → object', async (t) => {
  const { get } = await setup(t, simpleCluster(4));
  const one = await get('/event/live/stream1?action=subscribe&endpoints=1');
  assert.equal(Array.isArray(one.body), false);
  assert.equal(typeof one.body.serverAddress, 'string');
  const three = await get('/event/live/stream1?action=subscribe&endpoints=3');
  assert.equal(three.status, 200);
  assert.ok(Array.isArray(three.body));
  assert.equal(three.body.length, 3);
  assert.equal(new Set(three.body.map((a: any) => a.serverAddress)).size, 3);
  for (const a of three.body) assert.deepEqual(Object.keys(a).sort(), ['name', 'region', 'scope', 'serverAddress']);
  // Fewer available than asked: what exists without strict, refusal with strict.
  const six = await get('/event/live/stream1?action=subscribe&endpoints=6');
  assert.equal(six.body.length, 4);
  assertError(await get('/event/live/stream1?action=subscribe&endpoints=6&strict=true'), 503);
  // Array even when a single node answers.
  const b = await get('/event/live/fresh?action=broadcast&endpoints=2');
  assert.ok(Array.isArray(b.body));
  assert.equal(b.body.length, 1);
});

test('E8: region honoured; unknown region with strict → 400; known region without node + strict → 503', async (t) => {
  const v = new ClusterView();
  add(v, 'o-us', 'origin', { region: 'us-test1', load: 50 });
  add(v, 'o-eu', 'origin', { region: 'eu-test1', load: 0 });
  const { get } = await setup(t, v, { regions: ['us-test1', 'eu-test1', 'ap-test1'] });
  assert.equal((await get('/event/live/a?action=broadcast&region=us-test1')).body.serverAddress, 'o-us');
  assert.equal((await get('/event/live/b?action=broadcast&region=us-test1&strict=true')).body.serverAddress, 'o-us');
  assertError(await get('/event/live/c?action=broadcast&region=mars-1&strict=true'), 400, /region.*mars-1/i);
  // Unknown region without strict: next best.
  assert.equal((await get('/event/live/d?action=broadcast&region=mars-1')).body.serverAddress, 'o-eu');
  // Known (configured) region with no node: strict refuses, non-strict falls back.
  assertError(await get('/event/live/e?action=broadcast&region=ap-test1&strict=true'), 503, /ap-test1/);
  assert.equal((await get('/event/live/f?action=broadcast&region=ap-test1')).status, 200);
  // A region only known from a node's own region is known.
  const v2 = new ClusterView();
  add(v2, 'o-x', 'origin', { region: 'x-region' });
  const s2 = await setup(t, v2, { regions: [] });
  assert.equal((await s2.get('/event/live/g?action=broadcast&region=x-region&strict=true')).body.serverAddress, 'o-x');
});

test('location.region / location.strict are the defaults of region / strict', async (t) => {
  const v = new ClusterView();
  add(v, 'o-us', 'origin', { region: 'us-test1', load: 50 });
  add(v, 'o-eu', 'origin', { region: 'eu-test1', load: 0 });
  const { get } = await setup(t, v, { regions: ['us-test1', 'eu-test1', 'ap-test1'], config: { location: { region: 'us-test1' } } });
  assert.equal((await get('/event/live/a?action=broadcast')).body.serverAddress, 'o-us');
  assert.equal((await get('/event/live/b?action=broadcast&region=eu-test1')).body.serverAddress, 'o-eu');
  const s = await setup(t, v, { regions: ['us-test1', 'eu-test1', 'ap-test1'], config: { location: { region: 'ap-test1', strict: 'true' } } });
  assertError(await s.get('/event/live/c?action=broadcast'), 503);
  assert.equal((await s.get('/event/live/c?action=broadcast&strict=false')).body.serverAddress, 'o-eu');
});

test('stickiness: a second broadcast of a live stream goes to its origin even if another is idler', async (t) => {
  const v = new ClusterView();
  add(v, 'o1', 'origin', { load: 90 });
  add(v, 'o2', 'origin', { load: 0 });
  publish(v, 'o1', 'live', 'stream1');
  const { get, decisions } = await setup(t, v);
  for (let i = 0; i < 3; i++) assert.equal((await get('/event/live/stream1?action=broadcast')).body.serverAddress, 'o1');
  assert.equal((await get('/event/live/stream2?action=broadcast')).body.serverAddress, 'o2');
  assert.deepEqual(decisions, ['broadcast:sticky', 'broadcast:sticky', 'broadcast:sticky', 'broadcast:origin']);
});

test('burst: 500 subscribes between two reports spread over 3 edges of capacity 200, never past capacity; then 503', async (t) => {
  const v = simpleCluster(3, 200);
  const { get } = await setup(t, v);
  const counts = new Map<string, number>();
  const call = async () => {
    const r = await get('/event/live/stream1?action=subscribe');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    counts.set(r.body.serverAddress, (counts.get(r.body.serverAddress) ?? 0) + 1);
  };
  for (let i = 0; i < 500; i++) await call();
  assert.equal(counts.size, 3);
  for (const [addr, c] of counts) {
    assert.ok(c <= 200, `${addr} got ${c}`);
    assert.ok(c >= 166 && c <= 167, `${addr} got ${c}: hand-outs must spread evenly`);
  }
  for (let i = 0; i < 100; i++) await call();
  for (const c of counts.values()) assert.equal(c, 200);
  assertError(await get('/event/live/stream1?action=subscribe'), 503, /capacity/);
  // The next report carries the truth: hand-outs are forgotten, capacity is back.
  for (const e of v.childrenOf('10.0.0.1')) {
    v.setNode({ ...e, connections: { publishers: 0, subscribers: 150 } });
    v.resetHandedOut(e.address);
  }
  assert.equal((await get('/event/live/stream1?action=subscribe')).status, 200);
});

test('burst: hand-outs also spread broadcasts over origins', async (t) => {
  const v = new ClusterView();
  for (const o of ['o1', 'o2', 'o3']) add(v, o, 'origin', { capacity: 10 });
  const { get } = await setup(t, v);
  const seen: string[] = [];
  for (let i = 0; i < 30; i++) seen.push((await get(`/event/live/s${i}?action=broadcast`)).body.serverAddress);
  for (const o of ['o1', 'o2', 'o3']) assert.equal(seen.filter((s) => s === o).length, 10);
  assertError(await get('/event/live/s31?action=broadcast'), 503);
});

test('draining and stale (missed two reports) edges are never chosen; none left → 503', async (t) => {
  const v = new ClusterView();
  add(v, 'o1', 'origin');
  add(v, 'e-drain', 'edge', { state: 'draining' });
  add(v, 'e-stale', 'edge', { lastReport: T0 - 2 * SPEED - 1 });
  add(v, 'e-ok', 'edge', { load: 99 });
  for (const e of ['e-drain', 'e-stale', 'e-ok']) link(v, 'o1', e);
  publish(v, 'o1', 'live', 'stream1');
  const { get, clock } = await setup(t, v);
  assert.equal((await get('/event/live/stream1?action=subscribe')).body.serverAddress, 'e-ok');
  // e-ok is now full (99 reported + 1 handed out).
  assertError(await get('/event/live/stream1?action=subscribe'), 503);
  // Time passes without reports: even the origin stops counting as live.
  await clock.advance(2 * SPEED + 1);
  assertError(await get('/event/live/stream1?action=subscribe'), 404);
});

test('group without edges: subscribers go to the origin', async (t) => {
  const v = new ClusterView();
  add(v, 'o1', 'origin');
  publish(v, 'o1', 'live', 'stream1');
  const { get } = await setup(t, v);
  assert.equal((await get('/event/live/stream1?action=subscribe')).body.serverAddress, 'o1');
});

test('E9: transcode=true → transcoder when a provision exists, else an origin', async (t) => {
  const v = new ClusterView();
  add(v, 'o1', 'origin', { load: 10 });
  add(v, 't1', 'transcoder', { load: 50 });
  const { get, provisions } = await setup(t, v, { provisions: [['live', 'abr']] });
  assert.equal((await get('/event/live/abr?action=broadcast&transcode=true')).body.serverAddress, 't1');
  assert.equal((await get('/event/live/plain?action=broadcast&transcode=true')).body.serverAddress, 'o1');
  assert.equal((await get('/event/live/abr2?action=broadcast')).body.serverAddress, 'o1');
  // A provision created later is seen at once (cache).
  await provisions.create('live', 'abr2', { qos: 3 });
  assert.equal((await get('/event/live/abr2?action=broadcast&transcode=true')).body.serverAddress, 't1');
  // transcode is a broadcast option: subscribe ignores it.
  publish(v, 'o1', 'live', 'abr2');
  assert.equal((await get('/event/live/abr2?action=subscribe&transcode=true')).body.serverAddress, 'o1');
});

function statsCluster() {
  const v = new ClusterView();
  add(v, '10.0.0.1', 'origin');
  add(v, '10.0.1.1', 'edge', { region: 'eu-test1' });
  add(v, '10.0.1.2', 'edge');
  add(v, '10.0.9.9', 'edge', { lastReport: T0 - 2 * SPEED - 1 }); // stale: not listed
  for (const e of ['10.0.1.1', '10.0.1.2', '10.0.9.9']) link(v, '10.0.0.1', e);
  publish(v, '10.0.0.1', 'live', 'stream1', { subscribers: 1, startTime: T0 - 1000 });
  carry(v, '10.0.1.1', 'live', 'stream1', 5);
  carry(v, '10.0.1.2', 'live', 'stream1', 7);
  carry(v, '10.0.9.9', 'live', 'stream1', 100);
  publish(v, '10.0.0.1', 'live/room1', 'alice', { startTime: T0 - 2000 });
  return v;
}

test('E5: event/list items carry type and scope without slash (v3.0+), one per node', async (t) => {
  const { get } = await setup(t, statsCluster());
  const r = await get('/event/list');
  assert.equal(r.status, 200);
  assert.match(r.type, /application\/json/);
  assert.deepEqual(r.body, [
    { type: 'origin', name: 'stream1', scope: 'live', serverAddress: '10.0.0.1', region: 'us-test1' },
    { type: 'edge', name: 'stream1', scope: 'live', serverAddress: '10.0.1.1', region: 'eu-test1' },
    { type: 'edge', name: 'stream1', scope: 'live', serverAddress: '10.0.1.2', region: 'us-test1' },
    { type: 'origin', name: 'alice', scope: 'live/room1', serverAddress: '10.0.0.1', region: 'us-test1' },
  ]);
  const v31 = await get('/streammanager/api/3.1/event/list');
  assert.deepEqual(v31.body, r.body);
});

test('event/list on API 2.0: no type, scope with slash', async (t) => {
  const { get } = await setup(t, statsCluster());
  const r = await get('/streammanager/api/2.0/event/list');
  assert.equal(r.body.length, 4);
  assert.deepEqual(r.body[0], { name: 'stream1', scope: '/live', serverAddress: '10.0.0.1', region: 'us-test1' });
  for (const i of r.body) assert.equal('type' in i, false);
});

test('event/list on an empty cluster → []', async (t) => {
  const { get } = await setup(t, new ClusterView());
  const r = await get('/event/list');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, []);
});

test('event/list/stats: aggregated per stream by default, per node with aggregate=false', async (t) => {
  const { get } = await setup(t, statsCluster());
  const agg = await get('/event/list/stats');
  assert.equal(agg.status, 200);
  assert.deepEqual(agg.body, [
    { type: 'origin', name: 'stream1', scope: 'live', serverAddress: '10.0.0.1', region: 'us-test1', currentSubscribers: 13, startTime: T0 - 1000 },
    { type: 'origin', name: 'alice', scope: 'live/room1', serverAddress: '10.0.0.1', region: 'us-test1', currentSubscribers: 0, startTime: T0 - 2000 },
  ]);
  const rows = await get('/event/list/stats?aggregate=false');
  assert.equal(rows.body.length, 4);
  assert.deepEqual(rows.body[1], {
    type: 'edge',
    name: 'stream1',
    scope: 'live',
    serverAddress: '10.0.1.1',
    region: 'eu-test1',
    currentSubscribers: 5,
    startTime: T0 - 4000,
  });
  assertError(await get('/event/list/stats?aggregate=nah'), 400, /aggregate/);
});

test('event/{scope}/{stream}/stats → origin with subscribers summed; 404 when not broadcasting', async (t) => {
  const { get } = await setup(t, statsCluster());
  const r = await get('/event/live/stream1/stats');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { name: 'stream1', scope: '/live', serverAddress: '10.0.0.1', region: 'us-test1', currentSubscribers: 13, startTime: T0 - 1000 });
  const room = await get('/event/live/room1/alice/stats');
  assert.equal(room.body.scope, '/live/room1');
  assertError(await get('/event/live/nope/stats'), 404);
  // A stream named "stats" in scope live is a broker read, not a stats call.
  const v = new ClusterView();
  add(v, 'o1', 'origin');
  publish(v, 'o1', 'live', 'stats');
  const s = await setup(t, v);
  assert.equal((await s.get('/event/live/stats?action=subscribe')).body.name, 'stats');
});

test('conference join → 404 JSON', async (t) => {
  const { get } = await setup(t, statsCluster());
  assertError(await get('/event/live/room1/join'), 404, /conference join is not supported/i);
});

test('answers come from the view, not the store: no database call per request', async (t) => {
  const v = simpleCluster(3);
  const clock = new ManualClock(T0);
  const config = configSchema.parse({});
  let storeCalls = 0;
  const store = new Proxy(openSqliteStore(':memory:'), {
    get(target, prop, recv) {
      const val = Reflect.get(target, prop, recv);
      return typeof val === 'function' ? (...args: unknown[]) => (storeCalls++, val.apply(target, args)) : val;
    },
  });
  t.after(() => store.close());
  const provisions = createProvisionCache({ store, clock });
  await provisions.load();
  const broker = createBroker({ view: v, clock, config, regions: ['us-test1'], provisions });
  const app = await pluginApp(t, { hot: [brokerRoutes({ broker, view: v, clock, config, regions: ['us-test1'] })] });
  storeCalls = 0;
  for (const url of ['/event/live/stream1?action=subscribe', '/event/live/x?action=broadcast&transcode=true', '/event/list', '/event/list/stats', '/event/live/stream1/stats']) {
    assert.equal((await app.inject(BASE + url)).statusCode, 200);
  }
  assert.equal(storeCalls, 0);
});

test('hot path: no log line per request at the default level (info), for answers and refusals', async (t) => {
  const v = simpleCluster(3);
  const clock = new ManualClock(T0);
  const config = configSchema.parse({});
  const lines: string[] = [];
  const broker = createBroker({ view: v, clock, config, regions: ['us-test1'], provisions: { has: () => false } });
  const app = await createHttpApp({
    log: createLogger('info', { write: (l: string) => void lines.push(l) }),
    adminToken: 'x',
    routes: { root: [], admin: [], public: [], hot: [brokerRoutes({ broker, view: v, clock, config, regions: ['us-test1'] })] },
  });
  t.after(() => app.close());
  const urls = ['/event/live/stream1?action=subscribe', '/event/live/nope?action=subscribe', '/event/live/stream1?action=x', '/event/list', '/event/live/stream1/stats'];
  for (const u of urls) await app.inject(BASE + u);
  assert.deepEqual(lines, []);
});
