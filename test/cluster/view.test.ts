import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterView, acceptsClients } from '../../src/cluster/view.ts';
import type { Relation } from '../../src/domain/types.ts';
import { makeNode } from '../support/node-fixture.ts';

const T = 1_700_000_000_000;
const link = (parent: string, child: string, state: Relation['state'] = 'established'): Relation => ({ group: 'g1', parent, child, state, stateUpdated: T });
const children = (view: ClusterView, parent: string) => view.slot(parent)?.children.map((l) => `${l.child.address}:${l.state}`) ?? [];

describe('ClusterView role index', () => {
  it('follows nodes added, re-roled and removed', () => {
    const view = new ClusterView();
    view.setNode(makeNode('10.0.0.1', T, { role: 'origin' }));
    view.setNode(makeNode('10.0.0.2', T));
    const origins = () => [...(view.slotsOfRole('origin') ?? [])].map((n) => n.address).sort();
    assert.deepEqual(origins(), ['10.0.0.1']);
    view.setNode(makeNode('10.0.0.2', T, { role: 'origin' }));
    assert.deepEqual(origins(), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual([...(view.slotsOfRole('edge') ?? [])], []);
    view.removeNode('10.0.0.1');
    assert.deepEqual(origins(), ['10.0.0.2']);
  });
});

describe('ClusterView slots (the broker walks these)', () => {
  it('keep one slot per address across reports, with its hand-outs, until a report resets them', () => {
    const view = new ClusterView();
    view.setNode(makeNode('10.0.0.2', T, { connections: { publishers: 0, subscribers: 5 } }));
    const slot = view.slot('10.0.0.2')!;
    view.noteHandedOut('10.0.0.2', 3);
    view.setNode(makeNode('10.0.0.2', T + 1000, { connections: { publishers: 0, subscribers: 6 } }));
    assert.equal(view.slot('10.0.0.2'), slot, 'same slot after a new node value');
    assert.equal(slot.node?.lastReport, T + 1000);
    assert.equal(view.load(slot.node!), 9);
    assert.equal(slot.used + slot.handedOut, 9);
    assert.deepEqual(view.handOuts(), [['10.0.0.2', 3]]);
    view.resetHandedOut('10.0.0.2');
    assert.deepEqual(view.handOuts(), []);
  });

  it('link children to parents whichever arrives first, follow state changes, and unlink on removal', () => {
    const view = new ClusterView();
    view.setRelation(link('10.0.0.1', '10.0.0.2', 'prospective')); // before either node
    view.setNode(makeNode('10.0.0.1', T, { role: 'origin' }));
    view.setNode(makeNode('10.0.0.2', T));
    view.setNode(makeNode('10.0.0.3', T));
    view.setRelation(link('10.0.0.1', '10.0.0.3'));
    assert.deepEqual(children(view, '10.0.0.1'), ['10.0.0.2:prospective', '10.0.0.3:established']);
    assert.equal(view.slot('10.0.0.1')!.children[0].child, view.slot('10.0.0.2'), 'a link holds the child slot itself');
    assert.equal(view.slot('10.0.0.1')!.children[0].child.node?.address, '10.0.0.2');

    view.setRelation(link('10.0.0.1', '10.0.0.2', 'established'));
    assert.deepEqual(children(view, '10.0.0.1'), ['10.0.0.2:established', '10.0.0.3:established'], 'updated in place, not added twice');

    view.removeRelation('10.0.0.1', '10.0.0.2');
    assert.deepEqual(children(view, '10.0.0.1'), ['10.0.0.3:established']);
    view.removeNode('10.0.0.3');
    assert.deepEqual(children(view, '10.0.0.1'), []);
    assert.equal(view.slot('10.0.0.3'), undefined, 'a removed node with no links leaves no slot');
  });

  it('drop the slot of an address that only a link named once the link goes', () => {
    const view = new ClusterView();
    view.setNode(makeNode('10.0.0.1', T, { role: 'origin' }));
    view.setRelation(link('10.0.0.1', '10.0.0.9'));
    assert.ok(view.slot('10.0.0.9'));
    assert.equal(view.slot('10.0.0.9')!.node, undefined);
    view.removeRelation('10.0.0.1', '10.0.0.9');
    assert.equal(view.slot('10.0.0.9'), undefined);
    assert.ok(view.slot('10.0.0.1'), 'the parent keeps its slot: it is a node');
  });

  it('forget the hand-outs of a removed node when the address comes back', () => {
    const view = new ClusterView();
    view.setNode(makeNode('10.0.0.2', T));
    view.noteHandedOut('10.0.0.2', 4);
    view.removeNode('10.0.0.2');
    view.setNode(makeNode('10.0.0.2', T));
    assert.equal(view.handedOutTo('10.0.0.2'), 0);
  });

  it("copy the node's broker fields, and agree with acceptsClients at every moment", () => {
    const view = new ClusterView();
    const cases = [
      makeNode('10.0.0.2', T, { reportingSpeed: 5000 }),
      makeNode('10.0.0.2', T, { state: 'draining', reportingSpeed: 5000 }),
      makeNode('10.0.0.2', T, { state: 'pending', reportingSpeed: 5000 }),
      makeNode('10.0.0.2', T, { lastReport: null }),
      makeNode('10.0.0.2', T, { role: 'origin', region: 'eu-test1', capacity: 7, connections: { publishers: 2, subscribers: 3 }, cpu: 0.25, memory: null }),
    ];
    for (const n of cases) {
      view.setNode(n);
      const slot = view.slot('10.0.0.2')!;
      assert.deepEqual(
        [slot.role, slot.region, slot.capacity, slot.used, slot.cpu, slot.memory],
        [n.role, n.region, n.capacity, n.connections.publishers + n.connections.subscribers, n.cpu, n.memory],
      );
      for (const now of [T, T + 10_000, T + 10_001]) {
        assert.equal(now <= slot.acceptsUntil, acceptsClients(n, now), `${n.state} at +${now - T} ms`);
        const serves = (n.state === 'inservice' || n.state === 'draining') && n.lastReport !== null && now - n.lastReport <= 2 * n.reportingSpeed;
        assert.equal(now <= slot.servesUntil, serves, `${n.state} serving at +${now - T} ms`);
      }
    }
    view.removeNode('10.0.0.2');
  });

  it('index stream carriers by slot: replaced per node, removed with the stream or the node', () => {
    const view = new ClusterView();
    const stream = (address: string, publishers: number) => ({ address, scope: 'live/room', name: 's1', publishers, subscribers: 0, startTime: T });
    const carriers = () => (view.carriersOf('live/room', 's1') ?? []).map((c) => `${c.slot.address}:${c.publishers}`);
    view.setNode(makeNode('10.0.0.1', T, { role: 'origin' }));
    view.setNode(makeNode('10.0.0.2', T));
    view.addStream(stream('10.0.0.1', 1));
    view.setNodeStreams('10.0.0.2', [stream('10.0.0.2', 0)]);
    view.addStream(stream('10.0.0.1', 2));
    assert.deepEqual(carriers(), ['10.0.0.1:2', '10.0.0.2:0']);
    assert.equal(view.carriersOf('live/room', 's1')![0].slot, view.slot('10.0.0.1'));
    assert.equal(view.carriersOf('live', 'room/s1'), undefined, 'scope and name are not one joined string');
    view.setNodeStreams('10.0.0.1', [stream('10.0.0.1', 5), { ...stream('10.0.0.1', 1), name: 's2' }]);
    assert.deepEqual(carriers(), ['10.0.0.1:5', '10.0.0.2:0'], 'a stream the next report keeps is updated in place');
    view.setNodeStreams('10.0.0.1', [stream('10.0.0.1', 2)]);
    assert.equal(view.carriersOf('live/room', 's2'), undefined, 'a stream the next report drops is gone');
    view.setNodeStreams('10.0.0.2', []);
    assert.deepEqual(carriers(), ['10.0.0.1:2']);
    view.removeNode('10.0.0.1');
    assert.deepEqual(carriers(), []);
    // A stream announced for an address the view has no node for yet keeps a slot until it goes.
    view.addStream(stream('10.0.0.9', 1));
    assert.ok(view.slot('10.0.0.9'));
    view.removeStream('10.0.0.9', 'live/room', 's1');
    assert.equal(view.slot('10.0.0.9'), undefined);
  });
});
