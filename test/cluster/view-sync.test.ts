import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterView } from '../../src/cluster/view.ts';
import { syncView } from '../../src/cluster/view-sync.ts';
import { openSqliteStore } from '../../src/store/sqlite-store.ts';
import { makeNode } from '../support/node-fixture.ts';

const T = 1_700_000_000_000;

async function storeWith(...addresses: string[]) {
  const store = openSqliteStore(':memory:');
  await store.createGroup({ name: 'g1', regions: ['us-test1'], launchConfig: 'lc', scalePolicy: 'sp', state: 'active', baseCapacity: 0, timestamp: T });
  for (const a of addresses) await store.saveNode(makeNode(a, T));
  return store;
}

describe('syncView (several managers on one database)', () => {
  it('loads what another instance wrote, and drops what it deleted', async () => {
    const store = await storeWith('10.0.0.1', '10.0.0.2');
    const view = new ClusterView();
    await syncView(view, store);
    assert.deepEqual([...view.nodes.keys()].sort(), ['10.0.0.1', '10.0.0.2']);
    assert.ok(view.groups.has('g1'));
    await store.deleteNode('10.0.0.2');
    await syncView(view, store);
    assert.deepEqual([...view.nodes.keys()], ['10.0.0.1']);
  });

  it('a newer report persisted by another instance ends the hand-outs this instance counted before it', async () => {
    const store = await storeWith('10.0.0.1');
    const view = new ClusterView();
    await syncView(view, store);
    for (let i = 0; i < 5; i++) view.noteHandedOut('10.0.0.1');
    await syncView(view, store);
    assert.equal(view.handedOutTo('10.0.0.1'), 5, 'no newer report: the hand-outs still count');
    // The node reported to another manager, which persisted it: that report carries the truth.
    await store.saveNodeReport({ ...(await store.getNode('10.0.0.1'))!, lastReport: T + 10_000, connections: { publishers: 0, subscribers: 3 } });
    await syncView(view, store);
    assert.equal(view.handedOutTo('10.0.0.1'), 0);
    assert.equal(view.load(view.nodes.get('10.0.0.1')!), 3);
  });

  it('tells which serving nodes another manager terminated or deleted (their proxy sessions end here too)', async () => {
    const store = await storeWith('10.0.0.1', '10.0.0.2', '10.0.0.3');
    const view = new ClusterView();
    const gone: string[] = [];
    await syncView(view, store, (a) => gone.push(a));
    assert.equal(gone.length, 0);
    await store.transitionNode('10.0.0.1', ['inservice'], 'terminating', { stateReason: 'scale-in', stateUpdated: T + 1000, drainStartedAt: null });
    await store.deleteNode('10.0.0.2');
    await store.transitionNode('10.0.0.3', ['inservice'], 'draining', { stateReason: 'sunset', stateUpdated: T + 1000, drainStartedAt: T + 1000 });
    await syncView(view, store, (a) => gone.push(a));
    assert.deepEqual(gone.sort(), ['10.0.0.1', '10.0.0.2'], 'a draining node still serves its sessions');
    await syncView(view, store, (a) => gone.push(a));
    assert.equal(gone.length, 2, 'told once');
  });

  it('keeps a newer local report, takes a newer remote state', async () => {
    const store = await storeWith('10.0.0.1');
    const view = new ClusterView();
    await syncView(view, store);
    // This instance received a newer report; another one drained the node since.
    view.setNode({ ...view.nodes.get('10.0.0.1')!, lastReport: T + 5000, connections: { publishers: 0, subscribers: 42 } });
    await store.transitionNode('10.0.0.1', ['inservice'], 'draining', { stateReason: 'scale-in', stateUpdated: T + 1000, drainStartedAt: T + 1000 });
    await syncView(view, store);
    const n = view.nodes.get('10.0.0.1')!;
    assert.equal(n.connections.subscribers, 42, 'local report is newer');
    assert.equal(n.state, 'draining', 'remote state change is newer');
    assert.equal(n.drainStartedAt, T + 1000);
    // A newer report in the store (received by another instance) replaces the local one and its streams.
    await store.saveNodeReport({ ...n, lastReport: T + 9000, connections: { publishers: 0, subscribers: 3 } });
    await store.replaceNodeStreams('10.0.0.1', [{ address: '10.0.0.1', scope: 'live', name: 's', publishers: 0, subscribers: 3, startTime: T }]);
    await syncView(view, store);
    assert.equal(view.nodes.get('10.0.0.1')!.connections.subscribers, 3);
    assert.equal(view.nodesWithStream('live', 's').length, 1);
  });

  it("replaces links with the store's", async () => {
    const store = await storeWith('10.0.0.1', '10.0.0.2');
    const view = new ClusterView();
    await store.saveRelation({ group: 'g1', parent: '10.0.0.1', child: '10.0.0.2', state: 'established', stateUpdated: T });
    await syncView(view, store);
    assert.equal(view.relation('10.0.0.1', '10.0.0.2')?.state, 'established');
    await store.deleteRelation('10.0.0.1', '10.0.0.2');
    await syncView(view, store);
    assert.equal(view.allRelations().length, 0);
  });
});
