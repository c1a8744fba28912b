import type { ClusterNode, Relation } from '../domain/types.ts';
import type { ClusterStore } from '../store/cluster-store.ts';
import type { ClusterView } from './view.ts';
import type { EventLog } from './scale-events.ts';
import { parentRolesOf } from './links.ts';

const linkable = (n: ClusterNode | undefined) => n?.state === 'inservice' || n?.state === 'draining';
const pair = (parent: string, child: string) => `${parent}\u0000${child}`;

export interface RelationPlan {
  /** Links a child lacks in the store: written, then put in the view. */
  create: Relation[];
  /** Stored links that must not exist (wrong group or role, a parent or child no longer serving). */
  remove: Relation[];
  /** Stored, wanted links the view lacks (another manager made them). */
  learn: Relation[];
  /** View links the store lacks that are not wanted either. */
  forget: Relation[];
}

/**
 * What the store's relations should become (design §4, §6): every serving edge (or relay) linked to every
 * serving parent of its group. Links mid-way through a parent leaving (`disconnecting`) are the child's to
 * end and stay; links to nodes this view does not know yet (another manager's) are left alone.
 */
export function planRelations(view: ClusterView, stored: readonly Relation[], now: number): RelationPlan {
  const want = new Map<string, Relation>();
  for (const child of view.nodes.values()) {
    if (!linkable(child)) continue;
    for (const role of parentRolesOf(child, view)) {
      for (const p of view.nodesOf(child.group, role)) {
        if (!linkable(p)) continue;
        const known = view.relation(p.address, child.address);
        want.set(pair(p.address, child.address), known && known.state !== 'disconnecting' ? known : { group: child.group, parent: p.address, child: child.address, state: 'prospective', stateUpdated: now });
      }
    }
  }
  const plan: RelationPlan = { create: [], remove: [], learn: [], forget: [] };
  const inStore = new Set<string>();
  for (const r of stored) {
    const k = pair(r.parent, r.child);
    inStore.add(k);
    if (want.has(k)) {
      if (!view.relation(r.parent, r.child)) plan.learn.push(r);
      continue;
    }
    const parent = view.nodes.get(r.parent);
    const child = view.nodes.get(r.child);
    if (!parent || !child || r.state === 'disconnecting') continue;
    plan.remove.push(r);
  }
  for (const [k, r] of want) if (!inStore.has(k)) plan.create.push(r);
  for (const r of view.allRelations()) {
    const k = pair(r.parent, r.child);
    if (!inStore.has(k) && !want.has(k)) plan.forget.push(r);
  }
  return plan;
}

/**
 * The leader's self-repair of links, once per tick: a link lost to a store error, made on another
 * manager or deleted behind the manager's back is put right, with a `relink` scale event per group.
 * Returns how many links changed in the store.
 */
export async function repairRelations(d: { view: ClusterView; store: ClusterStore; events: EventLog }, now: number): Promise<number> {
  const plan = planRelations(d.view, await d.store.listRelations(), now);
  for (const r of plan.learn) d.view.setRelation(r);
  for (const r of plan.forget) d.view.removeRelation(r.parent, r.child);
  const byGroup = new Map<string, { linked: string[]; unlinked: string[] }>();
  const note = (group: string, what: 'linked' | 'unlinked', r: Relation) => {
    let g = byGroup.get(group);
    if (!g) byGroup.set(group, (g = { linked: [], unlinked: [] }));
    g[what].push(`${r.parent} -> ${r.child}`);
  };
  for (const r of plan.create) {
    const v = d.view.relation(r.parent, r.child);
    if (v && v !== r) continue; // a report changed the link while the store was read: the next tick looks again
    await d.store.saveRelation(r);
    d.view.setRelation(r);
    note(r.group, 'linked', r);
  }
  for (const r of plan.remove) {
    await d.store.deleteRelation(r.parent, r.child);
    d.view.removeRelation(r.parent, r.child);
    note(d.view.nodes.get(r.child)?.group ?? r.group, 'unlinked', r);
  }
  for (const [group, g] of byGroup) {
    const parts = [g.linked.length ? `linked ${g.linked.length} missing` : '', g.unlinked.length ? `removed ${g.unlinked.length} stale` : ''].filter(Boolean);
    await d.events.record({ group, kind: 'relink', reason: `Link repair: ${parts.join(' and ')} link(s)`, data: { linked: g.linked, unlinked: g.unlinked } });
  }
  return plan.create.length + plan.remove.length;
}
