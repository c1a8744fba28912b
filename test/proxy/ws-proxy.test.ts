/** The relay itself, over real loopback sockets to the project's node simulator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CONNECT_SUCCESS_FRAME } from '../../src/sim/node-sim.ts';
import { client, proxyPath, proxyRig, rawSocketOf, resolverOf, simNode, until, within } from './helpers.ts';

test('parameters, X-Forwarded-For* headers, User-Agent, Origin and subprotocol reach the node; Cookie and Authorization do not', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  // Extra parameters with encoded characters, as the SDK sends them (values encodeURIComponent'd).
  const query = '/streammanager/?id=sub-3f2a&host=127.0.0.2&app=live&token=a%26b%3Dc%2F%3F&username=J%C3%BCrgen%20K&empty=&capabilities=2';
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120';
  // Credentials meant for the manager's own origin must never travel on to the node.
  const c = await client(rig.url(query), ['json'], {
    headers: { 'User-Agent': ua, Origin: 'https://app.example', Cookie: 'sid=s', Authorization: 'Bearer x' },
  });
  t.after(() => c.ws.terminate());
  await c.frame(1);

  assert.equal(node.wsConnections.length, 1);
  const seen = node.wsConnections[0];
  assert.equal(seen.url, '/live?id=sub-3f2a&token=a%26b%3Dc%2F%3F&username=J%C3%BCrgen%20K&empty=&capabilities=2');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  const localPort = rawSocketOf(c.ws).localPort;
  assert.equal(seen.headers['x-forwarded-for-meta-port'], String(localPort));
  assert.equal(seen.headers['x-forwarded-for-meta-type'], 'WEB');
  assert.equal(seen.headers['x-forwarded-for-meta-secure'], 'false');
  assert.equal(seen.headers['user-agent'], ua);
  assert.equal(seen.headers['sec-websocket-protocol'], 'json');
  assert.equal(seen.headers['sec-websocket-version'], '13');
  // The browser's Origin is passed on verbatim (upstreamHeaders), so the node can apply its own origin policy.
  assert.equal(seen.headers.origin, 'https://app.example');
  assert.equal(seen.headers.cookie, undefined);
  assert.equal(seen.headers.authorization, undefined);
  assert.equal(seen.protocol, 'json');
  assert.equal(c.ws.protocol, 'json', 'the node’s subprotocol choice reaches the client');
});

test('a non-browser client behind TLS termination is DIRECT and secure; the path context is appended to the app', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const c = await client(rig.url('/streammanager/room1?host=127.0.0.2&app=live&id=s%201'), undefined, {
    headers: { 'User-Agent': 'rtcbee/1.0', 'X-Forwarded-Proto': 'https' },
  });
  t.after(() => c.ws.terminate());
  await c.frame(1);
  const seen = node.wsConnections[0];
  assert.equal(seen.url, '/live/room1?id=s%201');
  assert.equal(seen.headers['x-forwarded-for-meta-type'], 'DIRECT');
  assert.equal(seen.headers['x-forwarded-for-meta-secure'], 'true');
  assert.equal(seen.headers['user-agent'], 'rtcbee/1.0');
  assert.equal(seen.headers['sec-websocket-protocol'], undefined);
});

test('the node’s first status frame arrives byte-identical, and text and binary frames pass both ways unchanged', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const c = await client(rig.url(proxyPath('127.0.0.2')), ['json']);
  t.after(() => c.ws.terminate());

  const first = await c.frame(1);
  assert.equal(first.binary, false);
  assert.deepEqual(first.data, Buffer.from(CONNECT_SUCCESS_FRAME));

  const offer = JSON.stringify({ handleOffer: 'stream1', transport: 'udp', data: { sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } });
  c.ws.send(offer);
  const blob = randomBytes(300_000); // spans many TCP chunks and a 64-bit length header
  c.ws.send(blob);
  const empty = Buffer.alloc(0);
  c.ws.send(empty, { binary: true });

  const echoText = await c.frame(2);
  assert.equal(echoText.binary, false);
  assert.equal(echoText.data.toString(), offer);
  const echoBin = await c.frame(3);
  assert.equal(echoBin.binary, true);
  assert.ok(echoBin.data.equals(blob));
  const echoEmpty = await c.frame(4);
  assert.equal(echoEmpty.binary, true);
  assert.equal(echoEmpty.data.length, 0);

  assert.equal(node.wsReceived[0].data, offer);
  assert.equal(node.wsReceived[0].binary, false);
  assert.equal(node.wsReceived[1].binary, true);
  assert.ok((node.wsReceived[1].data as Buffer).equals(blob));

  const [s] = rig.proxy.list();
  assert.ok(s.bytesIn > blob.length + offer.length, 'bytes from the client are counted');
  assert.ok(s.bytesOut > blob.length + offer.length + CONNECT_SUCCESS_FRAME.length, 'bytes to the client are counted');
  const st = rig.proxy.stats();
  assert.equal(st.sessions, 1);
  assert.equal(st.bytesIn, s.bytesIn);
  assert.equal(st.bytesOut, s.bytesOut);
});

test('client closes → node side closes (close code passes through), and the session is gone', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const c = await client(rig.url(proxyPath('127.0.0.2')));
  await c.frame(1);
  assert.equal(node.wsOpen, 1);
  c.ws.close(4002, 'bye');
  const closed = await c.closed;
  assert.equal(closed.code, 4002, 'the node answered the client’s close through the proxy');
  await until(() => node.wsOpen === 0, 'node side to close');
  await until(() => rig.proxy.stats().sessions === 0, 'session to end');
  // Totals survive the session.
  assert.ok(rig.proxy.stats().bytesOut > 0);
});

test('node closes → client closes with the node’s code', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const c = await client(rig.url(proxyPath('127.0.0.2')));
  await c.frame(1);
  node.closeAllWebSockets(4001);
  assert.equal((await c.closed).code, 4001);
  await until(() => rig.proxy.stats().sessions === 0, 'session to end');
});

test('node dies without a close frame → client gets 1001 from the proxy', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const c = await client(rig.url(proxyPath('127.0.0.2')));
  await c.frame(1);
  await node.kill();
  const closed = await c.closed;
  assert.equal(closed.code, 1001);
  assert.equal(closed.reason, 'Node connection lost');
  await until(() => rig.proxy.stats().sessions === 0, 'session to end');
});

test('client vanishes without a close frame → node side is closed', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const c = await client(rig.url(proxyPath('127.0.0.2')));
  await c.frame(1);
  rawSocketOf(c.ws).destroy();
  await until(() => node.wsOpen === 0, 'node side to close');
  await until(() => rig.proxy.stats().sessions === 0, 'session to end');
});

test('closeSessionsOf(host) closes that node’s sessions only', async (t) => {
  const a = await simNode(t, '127.0.0.2');
  const b = await simNode(t, '127.0.0.3');
  const rig = await proxyRig(t, { resolveTarget: resolverOf([a, b]) });
  const a1 = await client(rig.url(proxyPath('127.0.0.2', '', 'live', 'a1')));
  const a2 = await client(rig.url(proxyPath('127.0.0.2', '', 'live', 'a2')));
  const b1 = await client(rig.url(proxyPath('127.0.0.3', '', 'live', 'b1')));
  t.after(() => b1.ws.terminate());
  await Promise.all([a1.frame(1), a2.frame(1), b1.frame(1)]);

  assert.equal(rig.proxy.closeSessionsOf('127.0.0.2'), 2);
  assert.equal((await a1.closed).code, 1001);
  assert.equal((await a2.closed).code, 1001);
  await until(() => a.wsOpen === 0, 'node a sessions to close');
  assert.deepEqual(rig.proxy.list().map((s) => s.targetHost), ['127.0.0.3']);
  b1.ws.send('still here');
  assert.equal((await b1.frame(2)).data.toString(), 'still here');
  assert.equal(b.wsOpen, 1);
});

test('close() shuts every session and detaches from the server', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const c = await client(rig.url(proxyPath('127.0.0.2')));
  await c.frame(1);
  // The rig's clock is never advanced, so the shutdown cutoff cannot fire: close() must settle on the
  // sessions finishing their close handshakes, or this fails instead of waiting.
  await within(rig.proxy.close(), 'close() to settle once every session has closed');
  assert.equal((await c.closed).code, 1001);
  assert.equal(rig.server.listenerCount('upgrade'), 0);
  assert.equal(rig.proxy.stats().sessions, 0);
});
