import type { ClusterNode, NodeGroup, NodeStream, Relation, Role } from '../domain/types.ts';

/** Key of a stream across nodes: scope (no leading slash) + name. */
export const streamKey = (scope: string, name: string) => `${scope}\u0000${name}`;

/** Instance being launched: known to the cloud request, not yet a node (its address comes with the ack). */
export interface Launching {
  identifier: string;
  group: string;
  role: Role;
  zone: string;
  since: number;
}

/**
 * The in-memory cluster state every hot path reads (broker, node replies, autoscaler snapshot).
 * Reports update it at once; the store is written behind it. It holds no I/O and no timers.
 */
export class ClusterView {
  readonly groups = new Map<string, NodeGroup>();
  /** By address. */
  readonly nodes = new Map<string, ClusterNode>();
  /** By instance identifier. */
  readonly launching = new Map<string, Launching>();
  /** Clients handed out by the broker since the node's last report (burst compensation, design §7). */
  readonly handedOut = new Map<string, number>();
  private readonly streamsByNode = new Map<string, Map<string, NodeStream>>();
  /** Role → addresses (broadcast looks at origins only, not at every edge). */
  private readonly roleIndex = new Map<Role, Set<string>>();
  /** Stream key → the nodes carrying it, with their entries (one lookup serves the broker). */
  private readonly streamIndex = new Map<string, Map<string, NodeStream>>();
  private readonly parentsByChild = new Map<string, Map<string, Relation>>();
  private readonly childrenByParent = new Map<string, Map<string, Relation>>();

  // ---- groups and nodes
  setGroup(g: NodeGroup) {
    this.groups.set(g.name, g);
  }

  removeGroup(name: string) {
    this.groups.delete(name);
    for (const n of this.nodesOf(name)) this.removeNode(n.address);
    for (const [id, l] of this.launching) if (l.group === name) this.launching.delete(id);
  }

  nodesOf(group: string, role?: Role): ClusterNode[] {
    const out: ClusterNode[] = [];
    for (const n of this.nodes.values()) if (n.group === group && (!role || n.role === role)) out.push(n);
    return out;
  }

  setNode(n: ClusterNode) {
    const prev = this.nodes.get(n.address);
    if (prev && prev.role !== n.role) this.roleIndex.get(prev.role)?.delete(n.address);
    this.nodes.set(n.address, n);
    let set = this.roleIndex.get(n.role);
    if (!set) this.roleIndex.set(n.role, (set = new Set()));
    set.add(n.address);
  }

  *nodesOfRole(role: Role): Iterable<ClusterNode> {
    for (const a of this.roleIndex.get(role) ?? []) {
      const n = this.nodes.get(a);
      if (n) yield n;
    }
  }

  removeNode(address: string) {
    const n = this.nodes.get(address);
    if (n) this.roleIndex.get(n.role)?.delete(address);
    this.nodes.delete(address);
    this.handedOut.delete(address);
    this.setNodeStreams(address, []);
    this.streamsByNode.delete(address);
    for (const parent of [...(this.parentsByChild.get(address)?.keys() ?? [])]) this.removeRelation(parent, address);
    for (const child of [...(this.childrenByParent.get(address)?.keys() ?? [])]) this.removeRelation(address, child);
  }

  // ---- streams
  /** Replaces a node's streams (its report is the truth for that node). */
  setNodeStreams(address: string, streams: NodeStream[]) {
    const old = this.streamsByNode.get(address);
    if (old) for (const k of old.keys()) this.unindex(k, address);
    const next = new Map<string, NodeStream>();
    for (const s of streams) {
      const k = streamKey(s.scope, s.name);
      next.set(k, s);
      this.index(k, s);
    }
    this.streamsByNode.set(address, next);
  }

  addStream(s: NodeStream) {
    const k = streamKey(s.scope, s.name);
    let m = this.streamsByNode.get(s.address);
    if (!m) this.streamsByNode.set(s.address, (m = new Map()));
    m.set(k, s);
    this.index(k, s);
  }

  removeStream(address: string, scope: string, name: string): boolean {
    const k = streamKey(scope, name);
    const removed = this.streamsByNode.get(address)?.delete(k) ?? false;
    if (removed) this.unindex(k, address);
    return removed;
  }

  streamsOf(address: string): NodeStream[] {
    return [...(this.streamsByNode.get(address)?.values() ?? [])];
  }

  stream(address: string, scope: string, name: string): NodeStream | undefined {
    return this.streamsByNode.get(address)?.get(streamKey(scope, name));
  }

  /** Nodes currently carrying the stream (any role). */
  nodesWithStream(scope: string, name: string): ClusterNode[] {
    const out: ClusterNode[] = [];
    for (const a of this.streamIndex.get(streamKey(scope, name))?.keys() ?? []) {
      const n = this.nodes.get(a);
      if (n) out.push(n);
    }
    return out;
  }

  /** Hot path: address → stream entry of every node carrying the stream, without copying. */
  carriersOf(scope: string, name: string): ReadonlyMap<string, NodeStream> | undefined {
    return this.streamIndex.get(streamKey(scope, name));
  }

  *allStreams(): Iterable<NodeStream> {
    for (const m of this.streamsByNode.values()) yield* m.values();
  }

  private index(k: string, stream: NodeStream) {
    let m = this.streamIndex.get(k);
    if (!m) this.streamIndex.set(k, (m = new Map()));
    m.set(stream.address, stream);
  }

  private unindex(k: string, address: string) {
    const s = this.streamIndex.get(k);
    if (!s) return;
    s.delete(address);
    if (!s.size) this.streamIndex.delete(k);
  }

  // ---- relations
  setRelation(r: Relation) {
    let p = this.parentsByChild.get(r.child);
    if (!p) this.parentsByChild.set(r.child, (p = new Map()));
    p.set(r.parent, r);
    let c = this.childrenByParent.get(r.parent);
    if (!c) this.childrenByParent.set(r.parent, (c = new Map()));
    c.set(r.child, r);
  }

  removeRelation(parent: string, child: string) {
    const p = this.parentsByChild.get(child);
    p?.delete(parent);
    if (p && !p.size) this.parentsByChild.delete(child);
    const c = this.childrenByParent.get(parent);
    c?.delete(child);
    if (c && !c.size) this.childrenByParent.delete(parent);
  }

  relation(parent: string, child: string): Relation | undefined {
    return this.parentsByChild.get(child)?.get(parent);
  }

  parentsOf(child: string): Relation[] {
    return [...(this.parentsByChild.get(child)?.values() ?? [])];
  }

  /** Hot path: child address → relation of every link below `parent`, without copying. */
  childLinks(parent: string): ReadonlyMap<string, Relation> | undefined {
    return this.childrenByParent.get(parent);
  }

  childrenOf(parent: string): ClusterNode[] {
    const out: ClusterNode[] = [];
    for (const a of this.childrenByParent.get(parent)?.keys() ?? []) {
      const n = this.nodes.get(a);
      if (n) out.push(n);
    }
    return out;
  }

  relationsOf(group: string): Relation[] {
    return this.allRelations().filter((r) => r.group === group);
  }

  allRelations(): Relation[] {
    const out: Relation[] = [];
    for (const m of this.parentsByChild.values()) for (const r of m.values()) out.push(r);
    return out;
  }

  // ---- load
  /** Connections from the last report plus clients handed out since. */
  load(n: ClusterNode): number {
    return n.connections.publishers + n.connections.subscribers + (this.handedOut.get(n.address) ?? 0);
  }

  noteHandedOut(address: string, count = 1) {
    this.handedOut.set(address, (this.handedOut.get(address) ?? 0) + count);
  }
}

/** A node that misses two reports stops receiving clients at once (design §6). */
export function isResponsive(n: ClusterNode, now: number): boolean {
  return n.lastReport !== null && now - n.lastReport <= 2 * n.reportingSpeed;
}

/** Can the broker hand this node new clients? In service, not draining, reporting. */
export function acceptsClients(n: ClusterNode, now: number): boolean {
  return n.state === 'inservice' && isResponsive(n, now);
}
