/** Time- and flow-dependent behaviour, driven by a ManualClock (no sleeps) and by real socket back-pressure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { client, proxyPath, proxyRig, rawSocketOf, rawUpgrade, resolverOf, simNode, until, within } from './helpers.ts';

test('handshake timeout: a node that accepts TCP but never answers gives 504 after handshakeTimeout', async (t) => {
  const clock = new ManualClock();
  const held: net.Socket[] = [];
  let dropped = 0;
  const silent = net.createServer((s) => {
    s.on('error', () => {});
    s.on('close', () => dropped++);
    s.resume(); // reads the handshake, answers nothing
    held.push(s);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.4', r));
  t.after(() => {
    held.forEach((s) => s.destroy());
    silent.close();
  });
  const rig = await proxyRig(t, {
    resolveTarget: resolverOf([{ host: '127.0.0.4', port: (silent.address() as AddressInfo).port }]),
    config: { handshakeTimeout: 1000 },
    clock,
  });
  let answered = false;
  const answer = rawUpgrade(rig.port, proxyPath('127.0.0.4')).then((r) => ((answered = true), r));
  await until(() => held.length === 1, 'the proxy to connect to the silent node');
  assert.equal(rig.proxy.list('unhealthy').length, 1, 'a session waiting for its node is unhealthy');
  await clock.advance(999);
  assert.equal(answered, false);
  await clock.advance(1);
  const r = await within(answer, 'refusal');
  assert.equal(r.status, 504);
  assert.match(r.body, /did not accept the WebSocket within 1000 ms/);
  await until(() => dropped === 1, 'the upstream attempt to be dropped');
  assert.equal(rig.proxy.stats().sessions, 0);
});

test('idle timeout: a session without data frames for idleTimeout is closed (1001), activity keeps it open', async (t) => {
  const clock = new ManualClock();
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]), config: { idleTimeout: 5000, pingInterval: 60000 }, clock });
  const c = await client(rig.url(proxyPath('127.0.0.2')));
  await c.frame(1);
  await clock.advance(4000);
  assert.equal(rig.proxy.stats().sessions, 1);
  c.ws.send('activity');
  await c.frame(2);
  await clock.advance(4000);
  assert.equal(rig.proxy.stats().sessions, 1, 'the frame 4 s ago reset the idle timer');
  await clock.advance(6000);
  const closed = await within(c.closed, 'idle close');
  assert.equal(closed.code, 1001);
  assert.equal(closed.reason, 'Idle timeout');
  await until(() => node.wsOpen === 0, 'node side to close');
});

test('keep-alive: a silent client is pinged again and again; one that never answers is dropped and its half-dead pair reaped', async (t) => {
  const clock = new ManualClock();
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]), config: { pingInterval: 1000 }, clock });
  const c = await client(rig.url(proxyPath('127.0.0.2')));
  let pings = 0;
  c.ws.on('ping', () => pings++);
  await c.frame(1);
  const id = rig.proxy.list()[0].id;
  // ws answers each ping with a pong (a masked empty frame, 6 bytes); once the proxy has counted those bytes
  // it has seen the answer, so the next sweep resets the client's silence: no race with the clock.
  const PONG_BYTES = 6;
  const pongSeen = (n: number) => until(() => rig.proxy.get(id)!.bytesIn >= n * PONG_BYTES, `pong ${n} at the proxy`);

  await clock.advance(1000);
  await until(() => pings === 1, 'a ping at the client');
  await pongSeen(1);
  // The janitor sweeps every 250 ms: the pong is folded in at 1250, so the client is silent again from then
  // and is pinged a second time one pingInterval later (2250).
  await clock.advance(1500);
  await until(() => pings === 2, 'a second ping at the client');
  await pongSeen(2);
  await clock.advance(1500);
  await until(() => pings === 3, 'a third ping at the client');
  await pongSeen(3);
  assert.equal(rig.proxy.list('healthy').length, 1, 'a client that answers pings stays');
  assert.equal(node.wsOpen, 1);

  // The client stops reading (a frozen tab, a dead NAT): no pong comes back.
  rawSocketOf(c.ws).pause();
  await clock.advance(2500);
  await until(() => node.wsOpen === 0, 'the node leg to be closed');
  assert.equal(rig.proxy.list().length, 0, 'a session closed by the proxy is no longer listed');
  await clock.advance(3000);
  await until(() => rig.proxy.stats().sessions === 0, 'the half-dead pair to be reaped');
  c.ws.terminate();
});

test('half-dead pair: node gone, client not closing → listed unhealthy, then reaped', async (t) => {
  const clock = new ManualClock();
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]), clock });
  const c = await client(rig.url(proxyPath('127.0.0.2')));
  await c.frame(1);
  rawSocketOf(c.ws).pause(); // the client will not answer the proxy's close
  await node.kill();
  await until(() => rig.proxy.list('unhealthy').length === 1, 'the pair to turn unhealthy');
  const [s] = rig.proxy.list('unhealthy');
  assert.equal(s.proxyConnected, false);
  assert.equal(s.clientConnected, true);
  assert.equal(rig.proxy.list('healthy').length, 0);
  await clock.advance(3000);
  await until(() => rig.proxy.stats().sessions === 0, 'the pair to be reaped');
  c.ws.terminate();
});

test('back-pressure node → client: a client that stops reading pauses the node leg; buffers stay bounded', async (t) => {
  const node = await simNode(t);
  const rig = await proxyRig(t, { resolveTarget: resolverOf([node]) });
  const c = await client(rig.url(proxyPath('127.0.0.2')));
  await c.frame(1);
  const id = rig.proxy.list()[0].id;
  rawSocketOf(c.ws).pause();

  const chunk = randomBytes(64 * 1024);
  const n = 256; // 16 MB, echoed by the node towards a client that reads nothing
  for (let i = 0; i < n; i++) c.ws.send(chunk);
  await until(() => rig.proxy.get(id)!.bytesIn >= n * chunk.length, 'everything to go up to the node', 10000);
  await until(() => rig.proxy.buffers(id)!.nodeReadPaused, 'the node leg to be paused', 10000);
  const b = rig.proxy.buffers(id)!;
  assert.ok(b.clientWritableLength <= 256 * 1024, `proxy buffers ${b.clientWritableLength} bytes for the client`);
  const s = rig.proxy.get(id)!;
  assert.ok(s.bytesOut < s.bytesIn, 'the proxy did not pull the whole echo into memory');

  rawSocketOf(c.ws).resume();
  await within(c.frame(n + 1), 'every echo after resuming', 10000);
  assert.ok(c.frames.slice(1).every((f) => f.binary && f.data.equals(chunk)));
  assert.equal(rig.proxy.buffers(id)!.nodeReadPaused, false);
  c.ws.terminate();
});

test('back-pressure client → node: a node that stops reading pauses the client leg; buffers stay bounded', async (t) => {
  // The simulator always reads, so this direction uses a bare ws server that stops reading after the handshake.
  const wss = new WebSocketServer({ host: '127.0.0.6', port: 0 });
  await new Promise<void>((r) => wss.once('listening', r));
  t.after(() => new Promise<void>((r) => wss.close(() => r())));
  const nodeSockets: net.Socket[] = [];
  wss.on('connection', (ws) => {
    const s = rawSocketOf(ws);
    nodeSockets.push(s);
    ws.send('hello');
    s.pause();
  });
  const rig = await proxyRig(t, { resolveTarget: resolverOf([{ host: '127.0.0.6', port: (wss.address() as AddressInfo).port }]) });
  const c = await client(rig.url(proxyPath('127.0.0.6')));
  await c.frame(1);
  const id = rig.proxy.list()[0].id;
  const chunk = randomBytes(64 * 1024);
  for (let i = 0; i < 256; i++) c.ws.send(chunk);
  await until(() => rig.proxy.buffers(id)!.clientReadPaused, 'the client leg to be paused', 10000);
  const b = rig.proxy.buffers(id)!;
  assert.ok(b.nodeWritableLength <= 256 * 1024, `proxy buffers ${b.nodeWritableLength} bytes for the node`);
  assert.ok(rig.proxy.get(id)!.bytesIn < 256 * chunk.length, 'the proxy did not pull the whole upload into memory');
  nodeSockets[0].resume();
  await until(() => rig.proxy.get(id)!.bytesIn >= 256 * chunk.length, 'the upload to finish after the node reads again', 10000);
  c.ws.terminate();
});
