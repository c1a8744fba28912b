import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Agent, request } from 'undici';
import { startHarness } from '../support/harness.ts';
import { createRateLimiter } from '../../src/broker/rate-limit.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';

/** A broker read from the agent's loopback address. */
async function brokerGet(base: string, path: string, agent: Agent) {
  const res = await request(`${base}/streammanager/api/4.0/event/${path}`, { dispatcher: agent });
  return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as any };
}

/** Raw upgrade from one address: the status line of the answer. */
function upgrade(port: number, path: string): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let text = '';
    socket.on('data', (c) => {
      text += c;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) {
        socket.removeAllListeners('data');
        resolve({ status: Number(m[1]), socket });
      }
    });
    socket.on('error', reject);
  });
}

describe('budgets per client', () => {
  it('a token bucket per address: burst, then Retry-After, refilled by time; 0 switches it off', () => {
    const clock = new ManualClock();
    const l = createRateLimiter({ ratePerSecond: 2, burst: 3, clock })!;
    assert.deepEqual([l.take('a'), l.take('a'), l.take('a')], [0, 0, 0]);
    assert.equal(l.take('a'), 1);
    assert.equal(l.take('b'), 0, 'another address has its own bucket');
    clock.set(clock.now() + 500);
    assert.equal(l.take('a'), 0);
    assert.equal(createRateLimiter({ ratePerSecond: 0, burst: 3, clock }), undefined);
  });

  it('a broker flood of random names with endpoints=64 scales nothing out, and real clients keep getting answers', async (t) => {
    const h = await startHarness(t, { config: { 'broker.rateLimitPerSecond': 20 } });
    const { group } = await h.cluster(70, 4);
    h.start();
    await h.tick();
    const launchesBefore = (await h.events(group)).filter((e) => e.kind === 'launch').length;
    const flooder = new Agent({ localAddress: '127.0.0.1', connections: 20 });
    const viewerAgent = new Agent({ localAddress: '127.0.0.200' });
    t.after(() => Promise.all([flooder.close(), viewerAgent.close()]));

    const statuses: number[] = [];
    let retryAfter: unknown;
    // 600 requests: without the limit, enough hand-outs to fill the origin (capacity 500) and scale out.
    for (let i = 0; i < 12; i++) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => brokerGet(h.url, `live/flood${i}-${j}?action=broadcast&endpoints=64`, flooder)));
      for (const r of batch) {
        statuses.push(r.status);
        if (r.status === 429) {
          retryAfter = r.headers['retry-after'];
          assert.match(r.json.errorMessage, /broker\.rateLimitPerSecond/);
        }
      }
    }
    const passed = statuses.filter((s) => s === 200).length;
    assert.ok(passed <= 100, `at most the burst passes: ${passed}`);
    assert.ok(statuses.includes(429));
    assert.ok(Number(retryAfter) >= 1);
    // Hand-outs: one per request that passed, and never past a node's free capacity.
    for (const n of h.rt.view.nodes.values()) assert.ok(h.rt.view.load(n) <= n.capacity, `${n.address} load ${h.rt.view.load(n)} of ${n.capacity}`);

    const viewer = await brokerGet(h.url, 'live/real?action=broadcast', viewerAgent);
    assert.equal(viewer.status, 200, JSON.stringify(viewer.json));
    // The autoscaler runs on what the flood left before the nodes' next reports.
    await h.tick(5000);
    assert.equal((await h.events(group)).filter((e) => e.kind === 'launch').length, launchesBefore, 'no scale-out from the flood');
  });

  it('the proxy refuses a session past proxy.maxSessionsPerClient from one address with 429, and a closed one frees its place', async (t) => {
    const h = await startHarness(t, { config: { 'proxy.maxSessionsPerClient': 3 } });
    const { edges } = await h.cluster(80);
    const port = Number(new URL(h.url).port);
    const path = `/streammanager/?id=s&host=${edges[0].host}&app=live`;
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await upgrade(port, path));
    assert.deepEqual(open.map((o) => o.status), [101, 101, 101]);
    const refused = await upgrade(port, path);
    assert.equal(refused.status, 429);
    refused.socket.destroy();
    open[0].socket.destroy();
    // A closed session frees its place.
    for (let i = 0; i < 5000 && h.rt.proxy.stats().sessions > 2; i++) await new Promise((r) => setImmediate(r));
    const again = await upgrade(port, path);
    assert.equal(again.status, 101);
    for (const o of [...open, again]) o.socket.destroy();
  });
});
