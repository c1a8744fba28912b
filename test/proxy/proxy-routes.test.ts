/** /admin/proxy/clients (classic-api.md §2.9) over live sessions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pluginApp, adminUrl } from '../support/http.ts';
import { proxyRoutes } from '../../src/http/routes/proxy-clients.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { client, proxyPath, proxyRig, resolverOf, simNode, until } from './helpers.ts';

test('list, filter, count, get, close one and close all through the admin API', async (t) => {
  const node = await simNode(t);
  const clock = new ManualClock(1_700_000_000_000);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]), clock });
  const app = await pluginApp(t, { admin: [proxyRoutes({ proxy: rig.proxy, clock })] });

  const ua = 'Mozilla/5.0 test';
  const a = await client(rig.url(proxyPath('127.0.0.2', '', 'live', 'a')), ['json'], { headers: { 'User-Agent': ua } });
  const b = await client(rig.url(proxyPath('127.0.0.2', '', 'live/room1', 'b')));
  t.after(() => {
    a.ws.terminate();
    b.ws.terminate();
  });
  await Promise.all([a.frame(1), b.frame(1)]);

  const list = await app.inject({ url: adminUrl('/proxy/clients') });
  assert.equal(list.statusCode, 200);
  const items = list.json() as Array<Record<string, unknown>>;
  assert.equal(items.length, 2);
  const first = items.find((i) => i.clientUserAgent === ua)!;
  assert.match(String(first.id), /^[0-9A-F]{20}-\d+$/);
  assert.deepEqual(
    { ...first, id: 'x', bytesIn: 0, bytesOut: 0 },
    {
      id: 'x',
      targetHost: '127.0.0.2',
      targetPort: node.port,
      targetApp: 'live',
      clientConnected: true,
      proxyConnected: true,
      clientUserAgent: ua,
      clientAddress: '127.0.0.1',
      secureClient: false,
      creationTime: 1_700_000_000_000,
      bytesIn: 0,
      bytesOut: 0,
    },
  );
  assert.ok((first.bytesOut as number) > 0);
  assert.equal(items.find((i) => i !== first)!.targetApp, 'live/room1');

  assert.equal((await app.inject({ url: adminUrl('/proxy/clients?filter=healthy') })).json().length, 2);
  assert.deepEqual((await app.inject({ url: adminUrl('/proxy/clients?filter=unhealthy') })).json(), []);
  assert.deepEqual((await app.inject({ url: adminUrl('/proxy/clients?count=true') })).json(), { count: 2, timestamp: 1_700_000_000_000 });
  assert.deepEqual((await app.inject({ url: adminUrl('/proxy/clients?filter=unhealthy&count=true') })).json(), { count: 0, timestamp: 1_700_000_000_000 });
  const badFilter = await app.inject({ url: adminUrl('/proxy/clients?filter=sometimes') });
  assert.equal(badFilter.statusCode, 400);
  assert.match(badFilter.json().errorMessage, /filter/);

  const one = await app.inject({ url: adminUrl(`/proxy/clients/${first.id}`) });
  assert.equal(one.statusCode, 200);
  assert.equal(one.json().id, first.id);
  const missing = await app.inject({ url: adminUrl('/proxy/clients/NOPE-1') });
  assert.equal(missing.statusCode, 404);
  assert.match(missing.json().errorMessage, /No proxy session/);
  assert.equal((await app.inject({ method: 'DELETE', url: adminUrl('/proxy/clients/NOPE-1') })).statusCode, 404);

  const del = await app.inject({ method: 'DELETE', url: adminUrl(`/proxy/clients/${first.id}`) });
  assert.equal(del.statusCode, 200);
  assert.equal((await a.closed).code, 1001);
  assert.equal((await app.inject({ url: adminUrl(`/proxy/clients/${first.id}`) })).statusCode, 404);
  assert.equal((await app.inject({ url: adminUrl('/proxy/clients') })).json().length, 1);

  const all = await app.inject({ method: 'DELETE', url: adminUrl('/proxy/clients') });
  assert.equal(all.statusCode, 200);
  assert.deepEqual(all.json(), { count: 1, timestamp: 1_700_000_000_000 });
  assert.equal((await b.closed).code, 1001);
  await until(() => node.wsOpen === 0, 'node sessions to close');
  assert.deepEqual((await app.inject({ url: adminUrl('/proxy/clients') })).json(), []);
});

test('the admin routes need the token', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const app = await pluginApp(t, { admin: [proxyRoutes({ proxy: rig.proxy })] });
  assert.equal((await app.inject({ url: '/streammanager/api/4.0/admin/proxy/clients' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'DELETE', url: '/streammanager/api/3.1/admin/proxy/clients' })).statusCode, 401);
  assert.equal((await app.inject({ url: adminUrl('/proxy/clients', '3.1') })).statusCode, 200);
});
