import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, CLUSTER_PASSWORD } from '../support/harness.ts';
import { postNodeMessage } from '../support/cloudwatch.ts';

describe('reports are bound to their node', () => {
  it('refuses a report that changes the port or comes from another address, and changes nothing', async (t) => {
    const h = await startHarness(t);
    const { edges } = await h.cluster(30);
    const edge = edges[0];
    const before = structuredClone(h.rt.view.nodes.get(edge.host));
    await h.clock.advance(1000);

    const moved = await postNodeMessage(h.url, { ...edge.buildReport(), port: edge.port + 1, connections: { publishers: 0, subscribers: 400 } }, { password: CLUSTER_PASSWORD });
    assert.equal(moved.status, 409);
    assert.match((await moved.json()).errorMessage, new RegExp(`known on port ${edge.port}`));

    const elsewhere = await postNodeMessage(h.url, { ...edge.buildReport(), connections: { publishers: 0, subscribers: 400 } }, { password: CLUSTER_PASSWORD, from: '127.0.0.250' });
    assert.equal(elsewhere.status, 409);
    assert.match((await elsewhere.json()).errorMessage, /reportSourceCheck/);
    const fake = await postNodeMessage(h.url, { type: 'publish', host: edge.host, scope: 'live', name: 'fake' }, { password: CLUSTER_PASSWORD, from: '127.0.0.250' });
    assert.equal(fake.status, 409);

    await h.rt.protocol.flush();
    assert.deepEqual(h.rt.view.nodes.get(edge.host), before);
    assert.equal(h.rt.view.nodesWithStream('live', 'fake').length, 0);
    const stored = (await h.rt.store.listNodes()).find((n) => n.address === edge.host)!;
    assert.equal(stored.port, edge.port);
    // The node itself, from its own address, still reports (and a host in upper case is the same node).
    assert.equal((await postNodeMessage(h.url, { ...edge.buildReport(), host: edge.host.toUpperCase() }, { password: CLUSTER_PASSWORD })).status, 200);
    assert.equal((await edge.report()).status, 'assigned');
  });

  it('with cluster.reportSourceCheck=false, reports relayed from another address are accepted', async (t) => {
    const h = await startHarness(t, { config: { 'cluster.reportSourceCheck': false } });
    const { edges } = await h.cluster(35);
    const res = await postNodeMessage(h.url, { ...edges[0].buildReport(), connections: { publishers: 0, subscribers: 7 } }, { password: CLUSTER_PASSWORD, from: '127.0.0.251' });
    assert.equal(res.status, 200);
    assert.equal(h.rt.view.nodes.get(edges[0].host)!.connections.subscribers, 7);
  });
});
