import { ClusterView } from '../../src/cluster/view.ts';
import { makeNode } from '../support/node-fixture.ts';
import type { ClusterNode, LinkState, NodeStream, Role } from '../../src/domain/types.ts';

/** Fixed "now" of the broker tests; every node reported at T0 unless told otherwise. */
export const T0 = 1_700_000_000_000;
export const SPEED = 10_000;

export function node(address: string, over: Partial<ClusterNode> = {}): ClusterNode {
  return makeNode(address, T0, { reportingSpeed: SPEED, ...over });
}

/** `load` sets reported connections (subscribers). */
export function add(view: ClusterView, address: string, role: Role, over: Partial<ClusterNode> & { load?: number } = {}): ClusterNode {
  const { load, ...rest } = over;
  const n = node(address, { role, ...rest, ...(load !== undefined ? { connections: { publishers: 0, subscribers: load } } : {}) });
  view.setNode(n);
  return n;
}

export function link(view: ClusterView, parent: string, child: string, state: LinkState = 'established', group = 'g1') {
  view.setRelation({ group, parent, child, state, stateUpdated: T0 });
}

export function publish(view: ClusterView, address: string, scope: string, name: string, over: Partial<NodeStream> = {}) {
  view.addStream({ address, scope, name, publishers: 1, subscribers: 0, startTime: T0 - 5_000, ...over });
}

/** Subscribers of a stream on an edge (the edge pulled it; no publisher there). */
export function carry(view: ClusterView, address: string, scope: string, name: string, subscribers: number) {
  view.addStream({ address, scope, name, publishers: 0, subscribers, startTime: T0 - 4_000 });
}

/** One group: origin `o`, edges `e1..eN` linked to it, stream live/stream1 on the origin. */
export function simpleCluster(edges = 3, capacity = 100): ClusterView {
  const v = new ClusterView();
  add(v, '10.0.0.1', 'origin', { capacity });
  for (let i = 1; i <= edges; i++) {
    add(v, `10.0.1.${i}`, 'edge', { capacity });
    link(v, '10.0.0.1', `10.0.1.${i}`);
  }
  publish(v, '10.0.0.1', 'live', 'stream1');
  return v;
}

export { ClusterView };
