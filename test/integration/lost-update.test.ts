import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from '../support/harness.ts';

describe('state transitions never undo a report that arrived meanwhile', () => {
  it('a report taken while a drain is being written to a slow store keeps its numbers', async (t) => {
    const h = await startHarness(t);
    const { edges } = await h.cluster(240, 3);
    const edge = edges[0];
    // A slow database: the drain's compare-and-set waits until the test lets it go.
    const store = h.rt.store;
    const real = store.transitionNode.bind(store);
    let reached!: () => void;
    const atStore = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    store.transitionNode = async (...args) => {
      reached();
      await gate;
      return real(...args);
    };
    const sunset = h.api('POST', '/admin/node/sunset', [edge.host]);
    await atStore;
    edge.setStreams([{ scope: 'live', name: 's1', publishers: 0, subscribers: 7 }]);
    await edge.report();
    assert.equal(h.rt.view.nodes.get(edge.host)?.connections.subscribers, 7);
    release();
    assert.equal((await sunset).status, 200);
    store.transitionNode = real;
    const n = h.rt.view.nodes.get(edge.host)!;
    assert.equal(n.state, 'draining');
    assert.equal(n.connections.subscribers, 7, 'the report that arrived during the write is kept');
  });
});
