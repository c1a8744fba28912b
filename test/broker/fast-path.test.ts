import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createHttpApp } from '../../src/app.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { configSchema } from '../../src/config/schema.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { createBroker } from '../../src/broker/broker.ts';
import { brokerRoutes } from '../../src/http/routes/broker.ts';
import { answerJson, brokerFastPath, parseQuery, type FastPath } from '../../src/http/broker-fast-path.ts';
import { T0, simpleCluster } from './support.ts';

const B = '/streammanager/api/4.0';

async function setup(t: TestContext) {
  const view = simpleCluster(2);
  const clock = new ManualClock(T0);
  const config = configSchema.parse({});
  const broker = createBroker({ view, clock, config, regions: ['us-test1'], provisions: { has: () => false } });
  const observed: string[] = [];
  const deps = { broker, view, clock, config, regions: ['us-test1'], observe: (r: string, m: string, s: number) => observed.push(`${r} ${m} ${s}`) };
  const fast = brokerFastPath(deps);
  let fastHits = 0;
  const spy: FastPath = (req, res) => {
    const used = fast(req, res);
    if (used) fastHits++;
    return used;
  };
  const app = await createHttpApp({ log: createLogger('silent'), adminToken: 'x', routes: { root: [], admin: [], public: [], hot: [brokerRoutes(deps)], fast: [spy] } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, view, base, observed, hits: () => fastHits };
}

/** Status, the headers clients read, and the body without its timestamp. */
const shape = (status: number, headers: Record<string, string | undefined>, body: string) => {
  const json = JSON.parse(body);
  if (json && typeof json === 'object' && 'timestamp' in json) json.timestamp = typeof json.timestamp;
  return { status, type: headers['content-type'], length: headers['content-length'], cors: headers['access-control-allow-origin'], json };
};

test('the fast path answers exactly what the Fastify route answers', async (t) => {
  const s = await setup(t);
  const urls = [
    `${B}/event/live/stream1?action=subscribe`,
    `${B}/event/live/stream1?action=broadcast`,
    `${B}/event/live/stream1?action=subscribe&endpoints=2`,
    `${B}/event/live/stream1?action=subscribe&accessToken=ignored&extra=1`,
    `${B}/event/live/nope?action=subscribe`,
    `${B}/event/live/new1?action=broadcast&region=us-test1&strict=true`,
    `${B}/event/live/new1?action=broadcast&region=mars&strict=true`,
    `${B}/event/live/stream1?action=dance`,
    `${B}/event/live/stream1`,
    `${B}/event/live/stream1?action=subscribe&endpoints=0`,
    `${B}/event/live/room1/stream1?action=subscribe`,
    `/streammanager/api/3.1/event/live/stream1?action=Subscribe`,
    `${B}/event/live/${'x'.repeat(300)}?action=subscribe`,
    `${B}/event/live/stream1?action=subscribe&region=us%2Dtest1&strict=tr+ue`,
  ];
  for (const url of urls) {
    for (const [a] of s.view.handOuts()) s.view.resetHandedOut(a);
    const before = s.hits();
    const res = await fetch(s.base + url);
    const viaFast = shape(res.status, Object.fromEntries(res.headers), await res.text());
    assert.equal(s.hits(), before + 1, `fast path used for ${url}`);
    for (const [a] of s.view.handOuts()) s.view.resetHandedOut(a);
    const inj = await s.app.inject({ url });
    const viaFastify = shape(inj.statusCode, inj.headers as Record<string, string>, inj.body);
    assert.deepEqual(viaFast, viaFastify, url);
  }
  assert.ok(s.observed.includes('/streammanager/api/:version/event/* GET 200'));
  assert.ok(s.observed.includes('/streammanager/api/:version/event/* GET 404'));
});

test('everything but the plain broker read falls through to Fastify', async (t) => {
  const s = await setup(t);
  for (const [method, url, status] of [
    ['GET', `${B}/event/list`, 200],
    ['GET', `${B}/event/list/stats`, 200],
    ['GET', `${B}/event/live/stream1/stats`, 200],
    ['GET', `${B}/event/live%2Fx/stream1?action=subscribe`, 404],
    ['GET', `${B}/event/live/stream1/?action=subscribe`, 200],
    ['GET', `/streammanager/api/9.9/event/live/stream1?action=subscribe`, 404],
    ['GET', `${B}/event/live/stream1?action=subscribe&x=%E0%A4%A`, 200],
    ['POST', `${B}/event/live/stream1?action=subscribe`, 404],
  ] as const) {
    const before = s.hits();
    const res = await fetch(s.base + url, { method });
    await res.arrayBuffer();
    assert.equal(s.hits(), before, `${method} ${url} goes to Fastify`);
    assert.equal(res.status, status, `${method} ${url}`);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  }
});

test('parseQuery decodes like the Fastify parser and refuses what it cannot decode', () => {
  assert.deepEqual(parseQuery('a=1&b=x%20y&a=2&c&d=e+f'), { a: ['1', '2'], b: 'x y', c: '', d: 'e f' });
  assert.deepEqual(parseQuery(''), {});
  assert.equal(parseQuery('x=%E0%A4%A'), null);
});

test('answerJson writes exactly what JSON.stringify writes, escapes and non-ASCII included', () => {
  const tricky = ['plain', 'q"uote', 'back\\slash', 'tab\there', 'nul\u0000', 'caf\u00e9', 'emoji \u{1f3a5}', 'lone \ud800', 'del\u007f', ''];
  for (const v of tricky) {
    const a = { serverAddress: `10.0.0.1${v}`, scope: `/live${v}`, name: v, region: `us-${v}` };
    assert.equal(answerJson(a), JSON.stringify(a), JSON.stringify(v));
  }
});
