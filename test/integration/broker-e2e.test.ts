import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from '../support/harness.ts';

describe('broker through the whole manager', () => {
  it('publisher to the origin, subscribers to edges; a killed edge stops getting clients at once', async (t) => {
    const h = await startHarness(t);
    const { nodes, group, origin, edges } = await h.cluster(110);
    const heartbeat = async () => {
      for (const n of nodes) if (n.alive) await n.report();
    };
    await heartbeat(); // links established
    const [e1, e2] = edges;

    // No stream yet: subscribe is a 404 JSON, broadcast picks the origin.
    const notLive = await h.api('GET', '/streammanager/api/4.0/event/live/show?action=subscribe');
    assert.equal(notLive.status, 404);
    assert.match(notLive.json.errorMessage, /show/);
    const pub = await h.api('GET', '/streammanager/api/3.1/event/live/show?action=broadcast');
    assert.equal(pub.status, 200);
    assert.deepEqual(pub.json, { serverAddress: origin.host, scope: '/live', name: 'show', region: 'us-test1' });
    assert.match(pub.headers.get('content-type')!, /application\/json/);
    await origin.publish('live', 'show');

    const picked = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = await h.api('GET', '/streammanager/api/4.0/event/live/show?action=subscribe&accessToken=ignored');
      assert.equal(r.status, 200, r.text);
      picked.add(r.json.serverAddress);
    }
    assert.deepEqual([...picked].sort(), [e1.host, e2.host].sort(), 'a burst spreads across both edges');

    const list = await h.api('GET', '/streammanager/api/4.0/event/list');
    assert.deepEqual(list.json, [{ type: 'origin', name: 'show', scope: 'live', serverAddress: origin.host, region: 'us-test1' }]);

    // e1 dies: after two missed reports it gets no clients, long before it is declared dead.
    await e1.kill();
    await h.clock.advance(20_001);
    await origin.report();
    await e2.report();
    for (let i = 0; i < 10; i++) {
      const r = await h.api('GET', '/streammanager/api/4.0/event/live/show?action=subscribe');
      assert.equal(r.json.serverAddress, e2.host);
    }
    assert.equal(h.rt.view.nodes.get(e1.host)?.state, 'inservice', 'not yet dead, only avoided');

    const metrics = await fetch(`${h.url}/metrics`).then((r) => r.text());
    assert.match(metrics, /broker_decisions_total\{action="subscribe",outcome="[a-z-]+"\} \d+/);
    assert.match(metrics, new RegExp(`nodes\\{group="${group}",role="edge",state="inservice"\\} 2`));
    assert.match(metrics, /http_requests_total\{route="\/streammanager\/api\/:version\/event\/\*",method="GET",status="200"\} \d+/);
  });
});
