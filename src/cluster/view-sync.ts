import type { ClusterNode, NodeStream } from '../domain/types.ts';
import type { ClusterStore } from '../store/cluster-store.ts';
import type { ClusterView } from './view.ts';

/** States in which a node serves clients (and may carry proxy sessions). */
const SERVING = new Set(['inservice', 'draining']);

/**
 * Brings the view up to date with the store: at boot (restart restores every node), on taking the
 * autoscaler lease, and periodically when several managers share one MySQL database. What this
 * instance saw more recently (a newer report, a newer state change) wins over the store's copy.
 */
export async function syncView(view: ClusterView, store: ClusterStore, onGone?: (address: string) => void): Promise<void> {
  const [groups, nodes, streams, relations] = await Promise.all([store.listGroups(), store.listNodes(), store.listStreams(), store.listRelations()]);

  const groupNames = new Set(groups.map((g) => g.name));
  for (const name of [...view.groups.keys()]) if (!groupNames.has(name)) view.removeGroup(name);
  for (const g of groups) view.setGroup(g);

  const byNode = new Map<string, NodeStream[]>();
  for (const s of streams) {
    let l = byNode.get(s.address);
    if (!l) byNode.set(s.address, (l = []));
    l.push(s);
  }

  const stored = new Set<string>();
  for (const remote of nodes) {
    stored.add(remote.address);
    const local = view.nodes.get(remote.address);
    if (!local) {
      view.setNode(remote);
      view.setNodeStreams(remote.address, byNode.get(remote.address) ?? []);
      continue;
    }
    const merged = merge(local, remote);
    view.setNode(merged);
    // Another manager terminated it: this manager's proxy sessions to it end too.
    if (SERVING.has(local.state) && !SERVING.has(merged.state)) onGone?.(remote.address);
    if ((remote.lastReport ?? 0) > (local.lastReport ?? 0)) {
      view.setNodeStreams(remote.address, byNode.get(remote.address) ?? []);
      // That report (taken by another manager) counted the clients handed out before it, as one of ours would.
      view.resetHandedOut(remote.address);
    }
  }
  for (const address of [...view.nodes.keys()]) {
    if (stored.has(address)) continue;
    view.removeNode(address);
    onGone?.(address);
  }

  // Links change only through the store (written first), so the store's set replaces ours.
  for (const r of view.allRelations()) view.removeRelation(r.parent, r.child);
  for (const r of relations) if (view.nodes.has(r.parent) && view.nodes.has(r.child)) view.setRelation(r);
}

function merge(local: ClusterNode, remote: ClusterNode): ClusterNode {
  const reportFromRemote = (remote.lastReport ?? 0) > (local.lastReport ?? 0);
  const stateFromRemote = remote.stateUpdated > local.stateUpdated;
  const base = reportFromRemote ? { ...remote } : { ...local, id: remote.id || local.id };
  const state = stateFromRemote ? remote : local;
  return {
    ...base,
    state: state.state,
    stateReason: state.stateReason,
    stateUpdated: state.stateUpdated,
    drainStartedAt: state.drainStartedAt,
  };
}
