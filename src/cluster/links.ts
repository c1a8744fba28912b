import type { ClusterNode, LinkState, Relation } from '../domain/types.ts';
import type { ClusterStore } from '../store/cluster-store.ts';
import type { ClusterView } from './view.ts';
import { hostPort } from '../cloud/node-api.ts';

/**
 * Cluster links (design §4): every edge links to every in-service origin of its group (or to the
 * group's relays when it has some; relays link to origins). Linking to all parents, rather than one,
 * lets any edge serve any stream of the group and makes a dead origin cost a link, not a cluster.
 */
export function parentRolesOf(node: ClusterNode, view: ClusterView): ClusterNode['role'][] {
  if (node.role === 'relay') return ['origin'];
  if (node.role !== 'edge') return [];
  return view.nodesOf(node.group, 'relay').length ? ['relay'] : ['origin'];
}

const linkable = (n: ClusterNode) => n.state === 'inservice' || n.state === 'draining';

/** Relations to create now that `node` is in service, as parent and as child. */
export function newRelationsFor(node: ClusterNode, view: ClusterView, now: number): Relation[] {
  const out: Relation[] = [];
  const rel = (parent: string, child: string): Relation => ({ group: node.group, parent, child, state: 'prospective', stateUpdated: now });
  for (const role of parentRolesOf(node, view)) {
    for (const p of view.nodesOf(node.group, role)) if (linkable(p) && !view.relation(p.address, node.address)) out.push(rel(p.address, node.address));
  }
  for (const c of view.nodesOf(node.group)) {
    if (c.address === node.address || !linkable(c)) continue;
    if (parentRolesOf(c, view).includes(node.role) && !view.relation(node.address, c.address)) out.push(rel(node.address, c.address));
  }
  return out;
}

export async function saveRelations(relations: Relation[], view: ClusterView, store: ClusterStore) {
  for (const r of relations) {
    await store.saveRelation(r);
    view.setRelation(r);
  }
}

export async function setLinkState(r: Relation, state: LinkState, now: number, view: ClusterView, store: ClusterStore) {
  if (r.state === state) return;
  await store.setRelationState(r.parent, r.child, state, now);
  view.setRelation({ ...r, state, stateUpdated: now });
}

/** A parent leaves: its children are told to disconnect (the parent disappears from their replies). */
export async function releaseChildren(parent: string, view: ClusterView, store: ClusterStore, now: number) {
  for (const child of view.childrenOf(parent)) {
    const r = view.relation(parent, child.address);
    if (r) await setLinkState(r, 'disconnecting', now, view, store);
  }
}

/** A child leaves: its links to its parents go at once (it will not report again to let go of them). */
export async function dropParentLinks(child: string, view: ClusterView, store: ClusterStore) {
  for (const r of view.parentsOf(child)) {
    await store.deleteRelation(r.parent, r.child);
    view.removeRelation(r.parent, r.child);
  }
}

/** Parents a child must link to, as `host:port`, for its reply. */
export function parentsForReply(child: string, view: ClusterView): string[] {
  const out: string[] = [];
  for (const r of view.parentsOf(child)) {
    if (r.state === 'disconnecting' || r.state === 'disconnected') continue;
    const p = view.nodes.get(r.parent);
    if (p) out.push(hostPort(p.address, p.port));
  }
  return out;
}
