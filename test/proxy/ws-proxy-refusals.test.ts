/** Never an open relay: refusals happen on the upgrade, with an HTTP status, before any connection attempt. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createWsProxy } from '../../src/proxy/ws-proxy.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { pluginApp } from '../support/http.ts';
import { CONFIG, client, dialSpy, proxyPath, proxyRig, rawUpgrade, resolverOf, simNode, within } from './helpers.ts';

const json = (body: string) => JSON.parse(body) as { errorMessage: string; timestamp: number };

test('unknown and private-range hosts are refused with an HTTP status and nothing is dialled', async (t) => {
  const node = await simNode(t);
  const resolve = resolverOf([node]);
  const rig = await proxyRig(t, { resolveTarget: resolve });
  const spy = dialSpy(t, [rig.port]);
  for (const host of ['10.0.0.1', '192.168.1.1', '172.16.0.5', '169.254.169.254', '127.0.0.1', 'example.com', '%5B%3A%3A1%5D']) {
    const r = await rawUpgrade(rig.port, proxyPath(host));
    assert.equal(r.status, 404, host);
    assert.match(r.headers, /Content-Type: application\/json/);
    assert.match(json(r.body).errorMessage, /not an available node/);
    assert.equal(typeof json(r.body).timestamp, 'number');
  }
  spy.restore();
  assert.deepEqual(spy.dials, [], 'no outgoing connection was attempted');
  assert.equal(node.wsConnections.length, 0);
  assert.deepEqual(resolve.asked, ['10.0.0.1', '192.168.1.1', '172.16.0.5', '169.254.169.254', '127.0.0.1', 'example.com', '::1']);
  assert.equal(rig.proxy.stats().sessions, 0);
});

test('the proxy dials the resolver’s address, not the one the client wrote', async (t) => {
  const node = await simNode(t);
  // The client names the node in upper case / by alias; only the resolver's answer is dialled.
  const rig = await proxyRig(t, { resolveTarget: (h) => (h === 'node-a.internal' ? { host: node.host, port: node.port } : null) });
  const c = await client(rig.url(proxyPath('NODE-A.internal')));
  t.after(() => c.ws.terminate());
  await c.frame(1);
  assert.equal(node.wsConnections.length, 1);
  assert.equal(rig.proxy.list()[0].targetHost, '127.0.0.2');
  assert.equal(rig.proxy.list()[0].targetPort, node.port);
});

test('missing or malformed parameters are 400 and never reach the resolver', async (t) => {
  const node = await simNode(t);
  const resolve = resolverOf([node]);
  const rig = await proxyRig(t, { resolveTarget: resolve });
  const spy = dialSpy(t, [rig.port]);
  const cases: Array<[string, RegExp]> = [
    ['/streammanager/?id=s&app=live', /Missing parameter host/],
    ['/streammanager/?id=s&host=127.0.0.2', /Missing parameter app/],
    ['/streammanager?id=s&host=&app=live', /Missing parameter host/],
    ['/streammanager/?id=s&host=127.0.0.2&app=live&token=%E0%A4%A', /Malformed query string/],
    ['/streammanager/?id=s&host=127.0.0.2&app=live&bad=%zz', /Malformed query string/],
    ['/streammanager/?id=s&host=127.0.0.2&app=..%2F..%2Fetc', /Invalid parameter app/],
    ['/streammanager/?id=s&host=127.0.0.2&app=live%3Fx%3D1', /Invalid parameter app/],
    ['/streammanager/?id=s&host=127.0.0.2&app=live%0D%0AX-Evil:%201', /Invalid parameter app/],
    ['/streammanager/..%2Fadmin?id=s&host=127.0.0.2&app=live', /Invalid context/],
    ['/streammanager/?id=s&host=127.0.0.2:22&app=live', /Invalid parameter host/],
    ['/streammanager/?id=s&host=a%40b&app=live', /Invalid parameter host/],
    ['/streammanager/?id=s&host=127.0.0.2&host=127.0.0.3&app=live', /given more than once/],
  ];
  for (const [path, msg] of cases) {
    const r = await rawUpgrade(rig.port, path);
    assert.equal(r.status, 400, path);
    assert.match(json(r.body).errorMessage, msg, path);
  }
  spy.restore();
  assert.deepEqual(spy.dials, []);
  assert.deepEqual(resolve.asked, []);
  assert.equal(node.wsConnections.length, 0);
});

test('bad handshakes are refused: version 426, non-WebSocket upgrade 400, missing key 400, other paths 404', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const good = proxyPath('127.0.0.2');
  const v8 = await rawUpgrade(rig.port, good, { 'Sec-WebSocket-Version': '8' });
  assert.equal(v8.status, 426);
  assert.match(v8.headers, /Sec-WebSocket-Version: 13/);
  assert.equal((await rawUpgrade(rig.port, good, { Upgrade: 'h2c' })).status, 400);
  assert.equal((await rawUpgrade(rig.port, good, {}, { omit: ['Sec-WebSocket-Key'] })).status, 400);
  assert.equal((await rawUpgrade(rig.port, good, { 'Sec-WebSocket-Key': 'short' })).status, 400);
  const other = await rawUpgrade(rig.port, '/live?id=s&host=127.0.0.2&app=live');
  assert.equal(other.status, 404);
  assert.equal((await rawUpgrade(rig.port, '/streammanagerX/?host=127.0.0.2&app=live')).status, 404);
  assert.equal(node.wsConnections.length, 0);
});

test('a node that refuses the WebSocket passes its 4xx on; an unreachable node is 502', async (t) => {
  const refusing = net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  });
  await new Promise<void>((r) => refusing.listen(0, '127.0.0.4', r));
  t.after(() => refusing.close());
  const closedPort = await new Promise<number>((r) => {
    const s = net.createServer().listen(0, '127.0.0.5', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => r(p));
    });
  });
  const rig = await proxyRig(t, {
    resolveTarget: resolverOf([
      { host: '127.0.0.4', port: (refusing.address() as AddressInfo).port },
      { host: '127.0.0.5', port: closedPort },
    ]),
  });
  const r401 = await rawUpgrade(rig.port, proxyPath('127.0.0.4'));
  assert.equal(r401.status, 401);
  assert.match(json(r401.body).errorMessage, /node answered 401/);
  const r502 = await rawUpgrade(rig.port, proxyPath('127.0.0.5'));
  assert.equal(r502.status, 502);
  assert.equal(rig.proxy.stats().sessions, 0);
});

test('maxSessions: the next upgrade is 503 and is not dialled', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]), config: { maxSessions: 2 } });
  const a = await client(rig.url(proxyPath('127.0.0.2')));
  const b = await client(rig.url(proxyPath('127.0.0.2')));
  t.after(() => {
    a.ws.terminate();
    b.ws.terminate();
  });
  await Promise.all([a.frame(1), b.frame(1)]);
  const r = await rawUpgrade(rig.port, proxyPath('127.0.0.2'));
  assert.equal(r.status, 503);
  assert.match(json(r.body).errorMessage, /maxSessions=2/);
  assert.equal(node.wsConnections.length, 2);
});

test('proxy.enabled=false: upgrades on the proxy path are 404', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]), config: { enabled: false } });
  const r = await rawUpgrade(rig.port, proxyPath('127.0.0.2'));
  assert.equal(r.status, 404);
  assert.match(json(r.body).errorMessage, /proxy\.enabled=false/);
  assert.equal(node.wsConnections.length, 0);
});

test('a flood of bad upgrades and oversize headers is refused cleanly while the HTTP API keeps answering', async (t) => {
  const node = await simNode(t);
  const app = await pluginApp(t, {});
  const proxy = createWsProxy({ config: CONFIG, log: createLogger('silent'), clock: new ManualClock(), resolveTarget: resolverOf([node]) });
  // Nobody advances the clock: close() settles on the peers' close handshakes, never on the cutoff timer.
  t.after(() => within(proxy.close(), 'the proxy to close its sessions'));
  proxy.attach(app.server);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;

  const bad = [
    proxyPath('10.0.0.1'),
    '/streammanager/?id=s&app=live',
    '/streammanager/?host=%E0%A4%A&app=live',
    '/streammanager/?' + 'x=1&'.repeat(150) + 'host=127.0.0.2&app=live',
    '/elsewhere',
  ];
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => rawUpgrade(port, bad[i % bad.length])));
  const statuses = new Set(answers.map((a) => a.status));
  assert.ok([...statuses].every((s) => s >= 400 && s < 500), `all refused with 4xx: ${[...statuses]}`);
  const huge = await rawUpgrade(port, proxyPath('127.0.0.2'), { 'X-Big': 'a'.repeat(20_000) });
  assert.equal(huge.status, 431);

  const res = await request(`http://127.0.0.1:${port}/`);
  assert.equal(res.statusCode, 200);
  await res.body.text();
  assert.equal(node.wsConnections.length, 0);
  assert.equal(proxy.stats().sessions, 0);

  // And the proxy still works on the Fastify server afterwards.
  const c = await client(`ws://127.0.0.1:${port}${proxyPath('127.0.0.2')}`);
  await c.frame(1);
  c.ws.terminate();
});
