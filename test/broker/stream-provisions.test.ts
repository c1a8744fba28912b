import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pluginApp, adminUrl, TEST_TOKEN } from '../support/http.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { openSqliteStore } from '../../src/store/sqlite-store.ts';
import { createProvisionCache } from '../../src/broker/provision-cache.ts';
import { streamProvisionRoutes } from '../../src/http/routes/stream-provisions.ts';
import { StoreUnavailableError, type ClusterStore } from '../../src/store/cluster-store.ts';
import { ClusterView, T0, SPEED, add, publish, carry } from './support.ts';

const META = {
  authentication: { username: 'acme', password: 'acme!newpass' },
  stream: [
    { name: 'stream1_3', level: 3, properties: { videoWidth: 320, videoHeight: 240, videoBR: 300000, videoFPS: 15 } },
    { name: 'stream1_1', level: 1, properties: { videoWidth: 1280, videoHeight: 720, videoBR: 1000000 } },
  ],
  georules: { regions: ['US'], restricted: 'false' },
  qos: 3,
  custom: { anything: [1, 'two'] },
};

async function setup(t: TestContext, view = new ClusterView()) {
  const clock = new ManualClock(T0);
  const store = openSqliteStore(':memory:');
  t.after(() => store.close());
  const provisions = createProvisionCache({ store, clock });
  await provisions.load();
  const app = await pluginApp(t, { admin: [streamProvisionRoutes({ provisions, view, store, clock })] });
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await app.inject({
      method: method as 'GET',
      url: adminUrl(path),
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    return { status: r.statusCode, type: String(r.headers['content-type']), body: r.body ? r.json() : undefined };
  };
  return { app, call, clock, store, provisions, view };
}

test('E10: POST provision → 201 envelope; GET → data.meta.stream[].name; custom keys kept', async (t) => {
  const { call } = await setup(t);
  const c = await call('POST', '/event/meta/live/stream1', { meta: META });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  assert.match(c.type, /application\/json/);
  assert.deepEqual(c.body, { name: 'stream1', scope: 'live', data: { meta: META }, updated: T0 });
  const g = await call('GET', '/event/meta/live/stream1');
  assert.equal(g.status, 200);
  assert.deepEqual(
    g.body.data.meta.stream.map((s: { name: string }) => s.name),
    ['stream1_3', 'stream1_1'],
  );
  assert.deepEqual(g.body.data.meta.custom, META.custom);
  // The subscriber testbed adds action=subscribe: ignored.
  const g2 = await call('GET', '/event/meta/live/stream1?action=subscribe');
  assert.deepEqual(g2.body, g.body);
});

test('GET with key= → data holds only that meta key', async (t) => {
  const { call } = await setup(t);
  await call('POST', '/event/meta/live/stream1', { meta: META });
  const g = await call('GET', '/event/meta/live/stream1?key=authentication');
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, { name: 'stream1', scope: 'live', data: { authentication: META.authentication }, updated: T0 });
  const none = await call('GET', '/event/meta/live/stream1?key=nothing');
  assert.deepEqual(none.body.data, {});
});

test('E10: duplicate POST → 409 errorMessage containing "Provision already exists"', async (t) => {
  const { call } = await setup(t);
  assert.equal((await call('POST', '/event/meta/live/stream1', { meta: META })).status, 201);
  const d = await call('POST', '/event/meta/live/stream1', { meta: { qos: 3 } });
  assert.equal(d.status, 409);
  assert.match(d.type, /application\/json/);
  assert.ok(d.body.errorMessage.includes('Provision already exists'), d.body.errorMessage);
  assert.equal(typeof d.body.timestamp, 'number');
});

test('duplicate written by another instance (store only) is still a 409 with the classic text', async (t) => {
  const { call, store } = await setup(t);
  await store.createProvision({ scope: 'live', name: 'other', meta: {}, updated: T0 });
  const d = await call('POST', '/event/meta/live/other', { meta: { qos: 3 } });
  assert.equal(d.status, 409);
  assert.ok(d.body.errorMessage.includes('Provision already exists'));
});

test('PUT updates (200), PUT of an absent provision → 404; DELETE → deleted envelope, then 404', async (t) => {
  const { call, clock } = await setup(t);
  await call('POST', '/event/meta/live/room1/stream1', { meta: META });
  await clock.advance(5000);
  const u = await call('PUT', '/event/meta/live/room1/stream1', { meta: { qos: 3, stream: [{ name: 'stream1_1', level: 1 }] } });
  assert.equal(u.status, 200);
  assert.deepEqual(u.body, { name: 'stream1', scope: 'live/room1', data: { meta: { qos: 3, stream: [{ name: 'stream1_1', level: 1 }] } }, updated: T0 + 5000 });
  assert.deepEqual((await call('GET', '/event/meta/live/room1/stream1')).body, u.body);
  const missing = await call('PUT', '/event/meta/live/nope', { meta: {} });
  assert.equal(missing.status, 404);
  assert.equal(typeof missing.body.errorMessage, 'string');
  const del = await call('DELETE', '/event/meta/live/room1/stream1');
  assert.equal(del.status, 200);
  assert.deepEqual(del.body, u.body);
  assert.equal((await call('GET', '/event/meta/live/room1/stream1')).status, 404);
  assert.equal((await call('DELETE', '/event/meta/live/room1/stream1')).status, 404);
});

test('M2: GET /event/meta → ["guid: <scope>/<name>", …] (also with a trailing slash)', async (t) => {
  const { call } = await setup(t);
  assert.deepEqual((await call('GET', '/event/meta')).body, []);
  await call('POST', '/event/meta/live/stream1', { meta: META });
  await call('POST', '/event/meta/live/room1/room1', { meta: { qos: 3 } });
  const l = await call('GET', '/event/meta');
  assert.equal(l.status, 200);
  assert.deepEqual(l.body, ['guid: live/room1/room1', 'guid: live/stream1']);
  assert.deepEqual((await call('GET', '/event/meta/')).body, l.body);
});

test('body validation: meta required and an object; stream an array of {name, level}; qos a number; numbers as strings accepted', async (t) => {
  const { call } = await setup(t);
  const bad = async (body: unknown, re: RegExp) => {
    const r = await call('POST', '/event/meta/live/s', body);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.errorMessage, re);
  };
  await bad({}, /meta/);
  await bad({ meta: 'x' }, /meta/);
  await bad({ meta: { stream: 'x' } }, /stream/);
  await bad({ meta: { stream: [{ level: 1 }] } }, /stream\.0\.name/);
  await bad({ meta: { stream: [{ name: 'a', level: 'high' }] } }, /stream\.0\.level/);
  await bad({ meta: { qos: 'x' } }, /qos/);
  await bad('not json at all {', /JSON/);
  const r = await call('POST', '/event/meta/live/s', { meta: { qos: '3', stream: [{ name: 's_1', level: '1' }] } });
  assert.equal(r.status, 201);
  assert.deepEqual(r.body.data.meta, { qos: 3, stream: [{ name: 's_1', level: 1 }] });
  // Lenient body as sent by deployment scripts.
  const l = await call('POST', '/event/meta/live/t', '{meta:{qos:3}}');
  assert.equal(l.status, 201, JSON.stringify(l.body));
  // Scope and stream are both required.
  const missing = await call('POST', '/event/meta/live', { meta: {} });
  assert.equal(missing.status, 400);
  assert.match(missing.body.errorMessage, /use \/admin\/event\/meta\/\{scope\}\/\{stream\}/);
  const long = await call('POST', `/event/meta/live/${'n'.repeat(255)}`, { meta: {} });
  assert.equal(long.status, 400);
  assert.match(long.body.errorMessage, /Invalid stream name: must be at most 254 characters \(got 255\)/);
});

test('provision routes need the admin token', async (t) => {
  const { app } = await setup(t);
  const r = await app.inject({ method: 'GET', url: '/streammanager/api/4.0/admin/event/meta' });
  assert.equal(r.statusCode, 401);
});

test('the provision cache follows writes at once and reload() picks up other instances', async (t) => {
  const { call, provisions, store } = await setup(t);
  assert.equal(provisions.has('live', 'stream1'), false);
  await call('POST', '/event/meta/live/stream1', { meta: META });
  assert.equal(provisions.has('live', 'stream1'), true);
  await call('DELETE', '/event/meta/live/stream1');
  assert.equal(provisions.has('live', 'stream1'), false);
  await store.createProvision({ scope: 'live', name: 'remote', meta: {}, updated: T0 });
  assert.equal(provisions.has('live', 'remote'), false);
  await provisions.reload();
  assert.equal(provisions.has('live', 'remote'), true);
  assert.equal(provisions.size, 1);
});

/** A real socket request; `chunks` are written one by one (chunked encoding unless contentLength). */
function rawRequest(port: number, method: string, path: string, chunks: string[], contentLength: boolean) {
  return new Promise<{ status: number; body: any; sentHeaders: Record<string, unknown> }>((resolve, reject) => {
    const total = chunks.join('');
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` };
    if (contentLength) headers['content-length'] = String(Buffer.byteLength(total));
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : undefined, sentHeaders: req.getHeaders() }));
    });
    req.on('error', reject);
    let i = 0;
    const next = () => {
      if (i === chunks.length) return req.end();
      req.write(chunks[i++]);
      setImmediate(next); // separate writes: separate chunks on the wire
    };
    next();
  });
}

test('E10: chunked (Transfer-Encoding) and Content-Length bodies over a real socket', async (t) => {
  const { app } = await setup(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const json = JSON.stringify({ meta: META });
  const pieces = [json.slice(0, 7), json.slice(7, 40), json.slice(40, 41), json.slice(41)];
  const chunked = await rawRequest(port, 'POST', '/streammanager/api/4.0/admin/event/meta/live/chunked', pieces, false);
  assert.equal(chunked.sentHeaders['content-length'], undefined, 'the request must go out chunked');
  assert.equal(chunked.status, 201, JSON.stringify(chunked.body));
  assert.deepEqual(chunked.body.data.meta, META);
  const fixed = await rawRequest(port, 'POST', '/streammanager/api/4.0/admin/event/meta/live/fixed', pieces, true);
  assert.equal(fixed.sentHeaders['content-length'], String(Buffer.byteLength(json)));
  assert.equal(fixed.status, 201, JSON.stringify(fixed.body));
  assert.deepEqual(fixed.body.data.meta, META);
  const put = await rawRequest(port, 'PUT', '/streammanager/api/4.0/admin/event/meta/live/chunked', ['{"meta":', '{"qos":3}}'], false);
  assert.equal(put.status, 200);
  assert.deepEqual(put.body.data.meta, { qos: 3 });
  const dup = await rawRequest(port, 'POST', '/streammanager/api/4.0/admin/event/meta/live/fixed', pieces, false);
  assert.equal(dup.status, 409);
  assert.ok(dup.body.errorMessage.includes('Provision already exists'));
});

async function purgeSetup(t: TestContext) {
  const view = new ClusterView();
  add(view, 'o-live', 'origin');
  add(view, 'o-stale', 'origin', { lastReport: T0 - 2 * SPEED - 1 });
  add(view, 'e-drain', 'edge', { state: 'draining' });
  publish(view, 'o-live', 'live', 'a');
  publish(view, 'o-live', 'live', 'b');
  publish(view, 'o-stale', 'live', 'c');
  carry(view, 'e-drain', 'live', 'a', 4);
  view.addStream({ address: 'gone', scope: 'live', name: 'd', publishers: 1, subscribers: 0, startTime: T0 }); // node no longer in the view
  const s = await setup(t, view);
  for (const st of view.allStreams()) await s.store.upsertStream(st);
  return s;
}

const streamsOf = (view: ClusterView) => [...view.allStreams()].map((s) => `${s.address}:${s.name}`).sort();
const storeStreams = async (store: ClusterStore) => (await store.listStreams()).map((s) => `${s.address}:${s.name}`).sort();

test('E1: DELETE /event purges stale entries only (view and store)', async (t) => {
  const { call, view, store } = await purgeSetup(t);
  const r = await call('DELETE', '/event');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { count: 3, timestamp: T0 });
  assert.deepEqual(streamsOf(view), ['o-live:a', 'o-live:b']);
  assert.deepEqual(await storeStreams(store), ['o-live:a', 'o-live:b']);
  assert.deepEqual((await call('DELETE', '/event')).body, { count: 0, timestamp: T0 });
});

test('E1: DELETE /event?includeActive=true purges every entry', async (t) => {
  const { call, view, store } = await purgeSetup(t);
  const r = await call('DELETE', '/event?includeActive=true');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { count: 5, timestamp: T0 });
  assert.deepEqual(streamsOf(view), []);
  assert.deepEqual(await storeStreams(store), []);
  assert.equal((await call('DELETE', '/event?includeActive=perhaps')).status, 400);
});


test('a store failure leaves the provision cache unchanged and answers 503', async (t) => {
  const clock = new ManualClock(T0);
  const real = openSqliteStore(':memory:');
  t.after(() => real.close());
  const failing = {
    listProvisions: () => real.listProvisions(),
    getProvision: (s: string, n: string) => real.getProvision(s, n),
    createProvision: async () => {
      throw new StoreUnavailableError('connection lost');
    },
    updateProvision: async () => {
      throw new StoreUnavailableError('connection lost');
    },
    deleteProvision: (s: string, n: string) => real.deleteProvision(s, n),
  };
  const provisions = createProvisionCache({ store: failing, clock });
  await provisions.load();
  const app = await pluginApp(t, { admin: [streamProvisionRoutes({ provisions, view: new ClusterView(), store: real, clock })] });
  const r = await app.inject({ method: 'POST', url: adminUrl('/event/meta/live/s'), payload: { meta: { qos: 3 } } });
  assert.equal(r.statusCode, 503);
  assert.equal(typeof r.json().errorMessage, 'string');
  assert.equal(provisions.has('live', 's'), false);
});
