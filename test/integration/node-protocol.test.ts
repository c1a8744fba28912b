import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, CLUSTER_PASSWORD, type Harness } from '../support/harness.ts';
import type { SimNode } from '../../src/sim/node-sim.ts';
import { postNodeMessage } from '../support/cloudwatch.ts';

async function cluster(t: Parameters<typeof startHarness>[0], first: number) {
  const h = await startHarness(t);
  return { h, ...(await h.cluster(first)) };
}

function post(h: Harness, body: unknown, password = CLUSTER_PASSWORD) {
  return postNodeMessage(h.url, body, { password });
}

const report = (n: SimNode, extra: Record<string, unknown> = {}) => ({ ...n.buildReport(), ...extra });

describe('node protocol v1', () => {
  it('refuses a wrong or missing cluster password with 401 JSON and changes nothing', async (t) => {
    const { h, edges } = await cluster(t, 10);
    const before = h.rt.view.nodes.get(edges[0].host)!.lastReport;
    await h.clock.advance(1000);
    const res = await post(h, report(edges[0]), 'wrong');
    assert.equal(res.status, 401);
    assert.match((await res.json()).errorMessage, /cluster\.password/);
    const none = await fetch(`${h.url}/streammanager/cloudwatch`, { method: 'POST', body: JSON.stringify(report(edges[0])), headers: { 'content-type': 'application/json' } });
    assert.equal(none.status, 401);
    assert.equal(h.rt.view.nodes.get(edges[0].host)!.lastReport, before);
  });

  it('refuses malformed reports with a 400 naming the field and keeps the node as it was', async (t) => {
    const { h, edges } = await cluster(t, 13);
    const node = edges[0];
    const before = structuredClone(h.rt.view.nodes.get(node.host));
    for (const [bad, field] of [
      [{ connections: { publishers: -1, subscribers: 0 } }, /connections\.publishers/],
      [{ connections: { publishers: 'many', subscribers: 0 } }, /connections\.publishers/],
      [{ cpu: 7 }, /cpu/],
      [{ host: 'bad host/with space' }, /host/],
      [{ streams: { scope: 'live' } }, /streams/],
    ] as const) {
      await h.clock.advance(1000);
      const res = await post(h, report(node, bad as Record<string, unknown>));
      const body = await res.json();
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(body.errorMessage, field);
      assert.equal(typeof body.timestamp, 'number');
    }
    assert.deepEqual(h.rt.view.nodes.get(node.host), before);
  });

  it('answers unknown hosts with status unknown and the reporting speed', async (t) => {
    const h = await startHarness(t);
    const res = await post(h, { type: 'report', host: '127.0.0.99', port: 8081, connections: { publishers: 0, subscribers: 0 } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'unknown', reportingSpeed: 10000 });
  });

  it('tracks streams from reports and publish/unpublish events', async (t) => {
    const { h, origin, edges } = await cluster(t, 16);
    await origin.publish('live', 'cam1');
    assert.deepEqual(h.rt.view.nodesWithStream('live', 'cam1').map((n) => n.address), [origin.host]);
    edges[0].setStreams([{ scope: '/live', name: 'cam1', publishers: 0, subscribers: 12 }]);
    await edges[0].report();
    assert.equal(h.rt.view.nodesWithStream('live', 'cam1').length, 2);
    assert.equal(h.rt.view.nodes.get(edges[0].host)!.connections.subscribers, 12);
    await origin.unpublish('live', 'cam1');
    assert.deepEqual(h.rt.view.nodesWithStream('live', 'cam1').map((n) => n.address), [edges[0].host]);
    // The edge's next report without the stream is the truth for that edge.
    edges[0].setStreams([]);
    await edges[0].report();
    assert.equal(h.rt.view.nodesWithStream('live', 'cam1').length, 0);
  });

  it('persists reports at most once per reporting period, at once on a state change', async (t) => {
    const { h, edges } = await cluster(t, 19);
    await h.rt.protocol.flush();
    const stored = async () => (await h.rt.store.getNode(edges[0].host))!;
    const first = (await stored()).lastReport;
    await h.clock.advance(1000);
    edges[0].addSubscribers(5);
    await edges[0].report();
    await h.rt.protocol.flush();
    assert.equal((await stored()).lastReport, first, 'a report within the period stays in memory');
    assert.equal(h.rt.view.nodes.get(edges[0].host)!.connections.subscribers, 5);
    await h.clock.advance(10_000);
    await edges[0].report();
    await h.rt.protocol.flush();
    assert.equal((await stored()).connections.subscribers, 5);
    assert.equal((await stored()).lastReport, h.clock.now());
  });

  it('sunset drains a node: its reply says drain, the broker view stops offering it', async (t) => {
    const { h, edges } = await cluster(t, 22);
    const res = await h.api('POST', '/admin/node/sunset', [edges[0].host]);
    assert.equal(res.status, 200, res.text);
    assert.equal((await edges[0].report()).drain, true);
    assert.equal((await edges[1].report()).drain, false);
    assert.equal(h.rt.view.nodes.get(edges[0].host)!.state, 'draining');
    const bad = await h.api('POST', '/admin/node/sunset', ['127.0.0.250']);
    assert.equal(bad.status, 400);
    assert.match(bad.json.errorMessage, /127\.0\.0\.250/);
  });
});

describe('link parents', () => {
  it('reads host:port, [v6]:port and bare addresses', async () => {
    const { hostOf } = await import('../../src/cluster/node-protocol.ts');
    assert.equal(hostOf('127.0.0.3:5080'), '127.0.0.3');
    assert.equal(hostOf('[::1]:5080'), '::1');
    assert.equal(hostOf('fd00::1'), 'fd00::1');
    assert.equal(hostOf('edge.example'), 'edge.example');
  });
});
