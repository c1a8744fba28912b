import type { ClusterNode, NodeGroup, NodeStream, Relation, Role } from '../domain/types.ts';
import { CandidateHeap, LINK_TIER, pressureOf, type EvaluatorWeights, type HeapEntry } from './candidates.ts';

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
 * The broker's handle on one address, the same object for the node's whole life in the view: reports
 * replace `node` (nodes are immutable values) while hand-outs and links stay on the slot, so a subscribe
 * walks origin → links → edges through object references instead of map lookups. The fields the broker
 * reads for every candidate are copied here from `node` by `set()` (the only writer), so a candidate
 * costs one object visit, not four (node, connections, link, relation): under load caches are cold and
 * each visit is a miss (design §7, bench).
 */
export class NodeSlot {
  node: ClusterNode | undefined = undefined;
  /**
   * Clients handed out by the broker since the node's last report (burst compensation, design §7).
   * Changed only through the view (handOut, noteHandedOut, resetHandedOut), which keeps the heaps in order.
   */
  handedOut = 0;
  /** Links below this node, each with its child's slot. */
  readonly children: ChildLink[] = [];
  /** Links above this node (the same ChildLink objects as in the parents' `children`). */
  readonly parents: ParentLink[] = [];
  /**
   * Candidate heaps (candidates.ts), kept only once the broker asked for them (ClusterView.rankCandidates):
   * the in-service edges linked below this node, by edge region, then by link tier (0 ready, 1 coming up).
   */
  readonly edgeHeaps = new Map<string, [CandidateHeap<NodeSlot>, CandidateHeap<NodeSlot>]>();
  /** Links below this node to relays (a subscribe looks through them to their edges). */
  readonly relayLinks = new Set<ChildLink>();
  /** Where this slot sits in candidate heaps. */
  entries: HeapEntry<NodeSlot>[] = [];
  /** Heap keys: (used + handedOut) / capacity (Infinity without capacity), and pressure by the ranked weights. */
  ratio = Infinity;
  pressure = NaN;
  role: Role | undefined = undefined;
  region = '';
  capacity = 0;
  /** Connections (publishers + subscribers) of the last report. */
  used = 0;
  /** Last moment (epoch ms) the node takes new clients: in service and not two reports late. */
  acceptsUntil = -Infinity;
  /** Last moment the node serves the streams it has: in service or draining, and reporting. */
  servesUntil = -Infinity;
  cpu: number | null = null;
  memory: number | null = null;

  constructor(readonly address: string) {}

  /** The only place `node` and its copies change. */
  set(n: ClusterNode | undefined) {
    this.node = n;
    this.role = n?.role;
    this.region = n?.region ?? '';
    this.capacity = n?.capacity ?? 0;
    this.used = n ? n.connections.publishers + n.connections.subscribers : 0;
    const until = n && n.lastReport !== null ? n.lastReport + 2 * n.reportingSpeed : -Infinity;
    this.acceptsUntil = n?.state === 'inservice' ? until : -Infinity;
    this.servesUntil = n?.state === 'inservice' || n?.state === 'draining' ? until : -Infinity;
    this.cpu = n?.cpu ?? null;
    this.memory = n?.memory ?? null;
    this.rerate();
  }

  rerate() {
    this.ratio = this.capacity > 0 ? (this.used + this.handedOut) / this.capacity : Infinity;
  }
}

/** A link above a node: its parent's slot and the link object in the parent's `children`. */
export interface ParentLink {
  readonly parent: NodeSlot;
  readonly link: ChildLink;
}

/** A node carrying a stream (view.carriersOf). */
export interface Carrier {
  readonly slot: NodeSlot;
  /** The stream's publishers on that node (a copy: the broker reads no NodeStream object). */
  publishers: number;
}

/** A link below a node: its state (the relation's, copied so the walk does not visit the relation) and the child's slot. */
export interface ChildLink {
  state: Relation['state'];
  readonly child: NodeSlot;
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
  private readonly slots = new Map<string, NodeSlot>();
  private readonly streamsByNode = new Map<string, Map<string, NodeStream>>();
  /** Role → slots of the nodes in that role (broadcast looks at origins only, not at every edge). */
  private readonly roleIndex = new Map<Role, Set<NodeSlot>>();
  /** Scope → stream name → the nodes carrying the stream (what the broker looks up per request). */
  private readonly streamIndex = new Map<string, Map<string, Carrier[]>>();
  private readonly parentsByChild = new Map<string, Map<string, Relation>>();
  private readonly childrenByParent = new Map<string, Map<string, Relation>>();
  /** Weights the candidate heaps rank by; null until the broker asks for heaps (rankCandidates). */
  private weights: EvaluatorWeights | null = null;
  /** Role → region → candidate heap of the in-service nodes of that role (broadcast). */
  private readonly roleHeaps = new Map<Role, Map<string, CandidateHeap<NodeSlot>>>();

  // ---- candidate heaps
  /**
   * From now on keep candidate heaps ranked with these weights (the broker's, from config). Until then,
   * and for other weights, the broker scans.
   */
  rankCandidates(weights: EvaluatorWeights) {
    this.weights = weights;
    for (const slot of this.slots.values()) {
      slot.pressure = pressureOf(slot, weights);
      this.reindex(slot);
    }
  }

  /** The weights the heaps are ranked by, or null. */
  rankedBy(): EvaluatorWeights | null {
    return this.weights;
  }

  /** Hot path: region → heap of the in-service nodes of the role. */
  roleHeapsOf(role: Role): ReadonlyMap<string, CandidateHeap<NodeSlot>> | undefined {
    return this.roleHeaps.get(role);
  }

  /** Puts the slot in the heaps its node belongs to now (and out of the others). */
  private reindex(slot: NodeSlot) {
    for (const e of slot.entries) e.heap.remove(e);
    slot.entries = [];
    for (const pl of slot.parents) pl.parent.relayLinks.delete(pl.link);
    const n = slot.node;
    if (!this.weights || !n) return;
    if (n.role === 'relay') for (const pl of slot.parents) pl.parent.relayLinks.add(pl.link);
    // Only nodes that can take clients at some moment (in service, reported once); the moment is checked per request.
    if (slot.acceptsUntil === -Infinity) return;
    if (n.role === 'edge') {
      for (const pl of slot.parents) {
        const tier = LINK_TIER[pl.link.state];
        if (tier < 0) continue;
        let pair = pl.parent.edgeHeaps.get(slot.region);
        if (!pair) pl.parent.edgeHeaps.set(slot.region, (pair = [new CandidateHeap(), new CandidateHeap()]));
        slot.entries.push(pair[tier].add(slot));
      }
    } else if (n.role === 'origin' || n.role === 'transcoder') {
      let byRegion = this.roleHeaps.get(n.role);
      if (!byRegion) this.roleHeaps.set(n.role, (byRegion = new Map()));
      let heap = byRegion.get(slot.region);
      if (!heap) byRegion.set(slot.region, (heap = new CandidateHeap()));
      slot.entries.push(heap.add(slot));
    }
  }

  /** The slot's load changed: its heaps move it. */
  private rerate(slot: NodeSlot) {
    slot.rerate();
    for (const e of slot.entries) e.heap.update(e);
  }

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
    const slot = this.slotFor(n.address);
    const prev = slot.node;
    if (prev && prev.role !== n.role) this.roleIndex.get(prev.role)?.delete(slot);
    const wasAccepting = slot.acceptsUntil !== -Infinity;
    slot.set(n);
    if (this.weights) {
      slot.pressure = pressureOf(slot, this.weights);
      // Heap membership follows role, region and in-service; anything else only moves the slot.
      if (!prev || prev.role !== n.role || prev.region !== n.region || wasAccepting !== (slot.acceptsUntil !== -Infinity)) this.reindex(slot);
      else this.rerate(slot);
    }
    this.nodes.set(n.address, n);
    let set = this.roleIndex.get(n.role);
    if (!set) this.roleIndex.set(n.role, (set = new Set()));
    set.add(slot);
  }

  /** Hot path: the slots of every node in `role`, without copying. */
  slotsOfRole(role: Role): ReadonlySet<NodeSlot> | undefined {
    return this.roleIndex.get(role);
  }

  /** Hot path: the slot of an address that has a node, a link or a stream. */
  slot(address: string): NodeSlot | undefined {
    return this.slots.get(address);
  }

  private slotFor(address: string): NodeSlot {
    let slot = this.slots.get(address);
    if (!slot) this.slots.set(address, (slot = new NodeSlot(address)));
    return slot;
  }

  removeNode(address: string) {
    const n = this.nodes.get(address);
    const slot = this.slots.get(address);
    if (n && slot) this.roleIndex.get(n.role)?.delete(slot);
    this.nodes.delete(address);
    if (slot) {
      slot.set(undefined);
      this.reindex(slot);
    }
    this.setNodeStreams(address, []);
    this.streamsByNode.delete(address);
    for (const parent of [...(this.parentsByChild.get(address)?.keys() ?? [])]) this.removeRelation(parent, address);
    for (const child of [...(this.childrenByParent.get(address)?.keys() ?? [])]) this.removeRelation(address, child);
    this.dropUnusedSlot(address);
  }

  // ---- streams
  /**
   * Replaces a node's streams (its report is the truth for that node); `streams` lists each stream once
   * (reports are deduplicated by sortReportItems, the store's key is unique). A stream passed as the
   * object the view already holds is unchanged and is not re-indexed: reports repeat most streams.
   */
  setNodeStreams(address: string, streams: NodeStream[]) {
    let m = this.streamsByNode.get(address);
    if (!m) this.streamsByNode.set(address, (m = new Map()));
    for (const s of streams) {
      const k = streamKey(s.scope, s.name);
      if (m.get(k) === s) continue;
      m.set(k, s);
      this.index(s);
    }
    // Every stream the node had is listed again: nothing went.
    if (m.size === streams.length) return;
    const listed = new Set<string>();
    for (const s of streams) listed.add(streamKey(s.scope, s.name));
    for (const [k, s] of m) {
      if (!listed.has(k)) {
        m.delete(k);
        this.unindex(s.scope, s.name, address);
      }
    }
  }

  addStream(s: NodeStream) {
    const k = streamKey(s.scope, s.name);
    let m = this.streamsByNode.get(s.address);
    if (!m) this.streamsByNode.set(s.address, (m = new Map()));
    m.set(k, s);
    this.index(s);
  }

  removeStream(address: string, scope: string, name: string): boolean {
    const k = streamKey(scope, name);
    const removed = this.streamsByNode.get(address)?.delete(k) ?? false;
    if (removed) {
      this.unindex(scope, name, address);
      this.dropUnusedSlot(address);
    }
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
    for (const c of this.carriersOf(scope, name) ?? []) if (c.slot.node) out.push(c.slot.node);
    return out;
  }

  /**
   * Hot path: every node carrying the stream, as its slot with the stream's publisher count. Keyed
   * by scope then name: no joined key string to build and hash per request.
   */
  carriersOf(scope: string, name: string): readonly Carrier[] | undefined {
    return this.streamIndex.get(scope)?.get(name);
  }

  *allStreams(): Iterable<NodeStream> {
    for (const m of this.streamsByNode.values()) yield* m.values();
  }

  private index(stream: NodeStream) {
    let byName = this.streamIndex.get(stream.scope);
    if (!byName) this.streamIndex.set(stream.scope, (byName = new Map()));
    let carriers = byName.get(stream.name);
    if (!carriers) byName.set(stream.name, (carriers = []));
    const at = carriers.findIndex((c) => c.slot.address === stream.address);
    if (at >= 0) carriers[at].publishers = stream.publishers;
    else carriers.push({ slot: this.slotFor(stream.address), publishers: stream.publishers });
  }

  private unindex(scope: string, name: string, address: string) {
    const byName = this.streamIndex.get(scope);
    const carriers = byName?.get(name);
    if (!byName || !carriers) return;
    const at = carriers.findIndex((c) => c.slot.address === address);
    if (at >= 0) carriers.splice(at, 1);
    if (!carriers.length) byName.delete(name);
    if (!byName.size) this.streamIndex.delete(scope);
  }

  // ---- relations
  setRelation(r: Relation) {
    let p = this.parentsByChild.get(r.child);
    if (!p) this.parentsByChild.set(r.child, (p = new Map()));
    p.set(r.parent, r);
    let c = this.childrenByParent.get(r.parent);
    if (!c) this.childrenByParent.set(r.parent, (c = new Map()));
    c.set(r.child, r);
    const parent = this.slotFor(r.parent);
    const link = parent.children.find((l) => l.child.address === r.child);
    if (link) {
      if (link.state === r.state) return;
      link.state = r.state;
      this.reindex(link.child);
    } else {
      const child = this.slotFor(r.child);
      const l: ChildLink = { state: r.state, child };
      parent.children.push(l);
      child.parents.push({ parent, link: l });
      this.reindex(child);
    }
  }

  removeRelation(parent: string, child: string) {
    const p = this.parentsByChild.get(child);
    p?.delete(parent);
    if (p && !p.size) this.parentsByChild.delete(child);
    const c = this.childrenByParent.get(parent);
    c?.delete(child);
    if (c && !c.size) this.childrenByParent.delete(parent);
    const slot = this.slots.get(parent);
    if (slot) {
      const i = slot.children.findIndex((l) => l.child.address === child);
      if (i >= 0) {
        const [l] = slot.children.splice(i, 1);
        slot.relayLinks.delete(l);
        const below = l.child;
        const at = below.parents.findIndex((pl) => pl.link === l);
        if (at >= 0) below.parents.splice(at, 1);
        this.reindex(below);
      }
    }
    this.dropUnusedSlot(parent);
    this.dropUnusedSlot(child);
  }

  /** A slot stays while its address has a node, a link or a stream. */
  private dropUnusedSlot(address: string) {
    const slot = this.slots.get(address);
    if (slot && !slot.node && !slot.children.length && !this.parentsByChild.has(address) && !this.streamsByNode.get(address)?.size) {
      this.slots.delete(address);
      this.streamsByNode.delete(address);
    }
  }

  relation(parent: string, child: string): Relation | undefined {
    return this.parentsByChild.get(child)?.get(parent);
  }

  parentsOf(child: string): Relation[] {
    return [...(this.parentsByChild.get(child)?.values() ?? [])];
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
    return n.connections.publishers + n.connections.subscribers + this.handedOutTo(n.address);
  }

  /** Clients handed out to the address since its node's last report. */
  handedOutTo(address: string): number {
    return this.slots.get(address)?.handedOut ?? 0;
  }

  noteHandedOut(address: string, count = 1) {
    const slot = this.slots.get(address);
    if (slot) this.handOut(slot, count);
  }

  /** Hot path (broker): a client was sent to the slot's node. */
  handOut(slot: NodeSlot, count = 1) {
    slot.handedOut += count;
    this.rerate(slot);
  }

  /** Every address with clients handed out since its last report, and how many. */
  handOuts(): [address: string, count: number][] {
    const out: [string, number][] = [];
    for (const slot of this.slots.values()) if (slot.handedOut) out.push([slot.address, slot.handedOut]);
    return out;
  }

  /** A report counted the clients handed out before it: start again from 0. */
  resetHandedOut(address: string) {
    const slot = this.slots.get(address);
    if (slot && slot.handedOut) {
      slot.handedOut = 0;
      this.rerate(slot);
    }
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
