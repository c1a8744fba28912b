import type { ClusterNode, Role } from '../domain/types.ts';
import type { Config } from '../config/schema.ts';
import type { ClusterView, NodeSlot } from '../cluster/view.ts';
import { DEFAULT_WEIGHTS, LINK_TIER, pressureOf, rankedBefore, type CandidateHeap, type EvaluatorWeights } from '../cluster/candidates.ts';

export { DEFAULT_WEIGHTS, pressureOf, type EvaluatorWeights };

/**
 * Broker selection (design §7): which node a publisher or a subscriber is sent to.
 *
 * PURE: reads the view, never changes it, does no I/O and takes the time as an argument. The broker
 * (broker.ts) records the hand-outs afterwards.
 *
 * Ranking of candidates, best first (a total order, so answers are deterministic):
 *   1. region rank: nodes of the requested `region` before the others (only without `strict`; with
 *      `strict` the others are not candidates at all);
 *   2. link tier (subscribe only): edges whose path to the stream's origin is `established` before
 *      edges whose link is still `prospective`/`connecting`;
 *   3. load ratio = load / capacity, where the load counts the connections of the node's last
 *      report plus the clients handed out since then (burst compensation). This key is what the
 *      classic `connections` and `subscribers` metric weights measure;
 *   4. pressure, from the `instanceevaluator.*.metricweight` settings:
 *          pressure = (memory.metricweight × memory + connections.metricweight × cpu)
 *                     / (memory.metricweight + connections.metricweight)
 *      with `memory` and `cpu` the node's last reported values (0..1); a value the node did not report
 *      counts as 0.5 (neutral), and when both weights are 0 the pressure is 0 (no preference);
 *   5. address (string order), so equal nodes are always taken in the same order.
 * The `streams`, `subscribers` and `restreamer` weights have no separate term: per-node stream counts and
 * restreamer load are not part of node reports, and subscriber counts are in the load ratio.
 *
 * A node is full when its load >= its capacity; a full node is never chosen, except the origin a live
 * stream already has (a stream never gets two origins, so a second broadcast goes back to it).
 *
 * Two ways to the same answer: when the view keeps candidate heaps ranked with the request's weights
 * (ClusterView.rankCandidates, which the broker calls), the best candidates are read from the few heaps
 * the request can use (fromHeaps), without walking every edge or origin; otherwise, and whenever the heaps
 * offer no answer (so the refusal can say why, with counts), every candidate is offered to a Picker.
 * test/broker/select-heaps.test.ts checks that both give the same answers on random clusters.
 */

export type BrokerAction = 'broadcast' | 'subscribe';

export function weightsFromConfig(c: Config['instanceevaluator']): EvaluatorWeights {
  return {
    streams: c['streams.metricweight'],
    connections: c['connections.metricweight'],
    subscribers: c['subscribers.metricweight'],
    memory: c['memory.metricweight'],
    restreamer: c['restreamer.metricweight'],
  };
}

export interface SelectRequest {
  action: BrokerAction;
  /** Without leading or trailing slash, e.g. `live` or `live/room1`. */
  scope: string;
  name: string;
  region?: string;
  strict?: boolean;
  /** Number of distinct nodes wanted (default 1). */
  endpoints?: number;
  /** Broadcast only: a transcoder when `hasProvision`, else an origin. */
  transcode?: boolean;
  /** A stream provision exists for scope/name (only read with `transcode`). */
  hasProvision?: boolean;
}

/**
 * Why a request was refused. `not-live` is 404; every other code is 503 (the cluster cannot take the
 * client now: no node, every node full, nothing in the strict region, fewer than the strict endpoints).
 */
export type RefusalCode = 'not-live' | 'no-node' | 'full' | 'region' | 'endpoints' | 'no-edge' | 'no-transcoder';

/** How a successful answer was reached (metrics label). */
export type SelectionKind = 'sticky' | 'origin' | 'transcoder' | 'edge' | 'origin-fallback';

/** A slot whose address has a node (what the selection offers and returns). */
export type LiveSlot = NodeSlot & { node: ClusterNode };

export type Selection =
  | { ok: true; kind: SelectionKind; slots: LiveSlot[]; /** Read from the candidate heaps (tests tell the two ways apart). */ fromHeaps?: true }
  | { ok: false; status: 404 | 503; code: RefusalCode; message: string };

interface Candidate {
  slot: LiveSlot;
  regionRank: number;
  tier: number;
  ratio: number;
  /** Computed on demand (only ties on the keys before it need it); NaN until then. */
  pressure: number;
}

const refuse = (status: 404 | 503, code: RefusalCode, message: string): Selection => ({ ok: false, status, code, message });

/**
 * Collects the nodes offered for one request and keeps the best ones. Hot path: for a single answer it
 * keeps only the best candidate (no list, no sort); no closures are created per request.
 */
class Picker {
  /** Best candidate so far when a single answer is wanted (scalars: no allocation per offered node). */
  best: LiveSlot | null = null;
  private bestRegionRank = 0;
  private bestTier = 0;
  private bestRatio = 0;
  private bestPressure = NaN;
  /** All candidates when several answers are wanted. */
  list: Candidate[] | null;
  /** Offered nodes that accept clients but are full. */
  full = 0;
  /** Offered nodes that do not accept clients (draining, pending, missed reports). */
  notAccepting = 0;
  /** Nodes left out by strict region. */
  outOfRegion = 0;

  constructor(
    private readonly now: number,
    private readonly weights: EvaluatorWeights,
    private readonly region: string | undefined,
    private readonly strictRegion: boolean,
    readonly count: number,
  ) {
    this.list = count > 1 ? [] : null;
  }

  get size(): number {
    return this.list ? this.list.length : this.best ? 1 : 0;
  }

  /** Offers a node; it becomes a candidate if it accepts clients and is not full (unless `ignoreLoad`). */
  offer(slot: LiveSlot, tier: number, ignoreLoad = false): void {
    // The slot's copies of the node's fields (view.ts NodeSlot): the node object itself is not read.
    if (this.now > slot.acceptsUntil) {
      this.notAccepting++;
      return;
    }
    const load = slot.used + slot.handedOut;
    const capacity = slot.capacity;
    if (!ignoreLoad && (capacity <= 0 || load >= capacity)) {
      this.full++;
      return;
    }
    const regionRank = this.region === undefined || slot.region === this.region ? 0 : 1;
    if (regionRank && this.strictRegion) {
      this.outOfRegion++;
      return;
    }
    const ratio = capacity > 0 ? load / capacity : Infinity;
    if (this.list) {
      this.list.push({ slot, regionRank, tier, ratio, pressure: NaN });
      return;
    }
    const b = this.best;
    if (b) {
      // Same keys, same order as compare().
      let d = regionRank - this.bestRegionRank || tier - this.bestTier || ratio - this.bestRatio;
      let pressure = NaN;
      if (d === 0) {
        if (Number.isNaN(this.bestPressure)) this.bestPressure = pressureOf(b, this.weights);
        pressure = pressureOf(slot, this.weights);
        d = pressure - this.bestPressure || (slot.address < b.address ? -1 : slot.address > b.address ? 1 : 0);
      }
      if (d >= 0) return;
      this.bestPressure = pressure;
    }
    this.best = slot;
    this.bestRegionRank = regionRank;
    this.bestTier = tier;
    this.bestRatio = ratio;
    if (!b) this.bestPressure = NaN;
  }

  private pressure(c: Candidate): number {
    if (Number.isNaN(c.pressure)) c.pressure = pressureOf(c.slot, this.weights);
    return c.pressure;
  }

  compare(a: Candidate, b: Candidate): number {
    return (
      a.regionRank - b.regionRank ||
      a.tier - b.tier ||
      a.ratio - b.ratio ||
      this.pressure(a) - this.pressure(b) ||
      (a.slot.address < b.slot.address ? -1 : a.slot.address > b.slot.address ? 1 : 0)
    );
  }

  /** The chosen nodes, best first, distinct. */
  picked(): LiveSlot[] {
    if (!this.list) return this.best ? [this.best] : [];
    const sorted = this.list.sort((a, b) => this.compare(a, b));
    const out: LiveSlot[] = [];
    const seen = new Set<NodeSlot>();
    for (const c of sorted) {
      if (seen.has(c.slot)) continue;
      seen.add(c.slot);
      out.push(c.slot);
      if (out.length === this.count) break;
    }
    return out;
  }

  /** Distinct candidates (a node reachable by two paths counts once). */
  distinct(): number {
    if (!this.list) return this.size;
    const seen = new Set<NodeSlot>();
    for (const c of this.list) seen.add(c.slot);
    return seen.size;
  }
}

export function select(view: ClusterView, now: number, weights: EvaluatorWeights, req: SelectRequest): Selection {
  return run(view, now, weights, req, view.rankedBy() === weights);
}

/** The same answer as select() by offering every candidate (the reference the heaps are tested against). */
export function selectByScan(view: ClusterView, now: number, weights: EvaluatorWeights, req: SelectRequest): Selection {
  return run(view, now, weights, req, false);
}

function run(view: ClusterView, now: number, weights: EvaluatorWeights, req: SelectRequest, heaps: boolean): Selection {
  const count = req.endpoints && req.endpoints > 1 ? Math.floor(req.endpoints) : 1;
  return req.action === 'broadcast' ? broadcast(view, now, weights, req, count, heaps) : subscribe(view, now, weights, req, count, heaps);
}

/** A candidate heap a request may take nodes from, with the keys that rank before the heap's own order. */
interface Source {
  heap: CandidateHeap<NodeSlot>;
  regionRank: number;
  tier: number;
}

const sourceBefore = (a: Source, ai: number, b: Source, bi: number): number =>
  a.regionRank - b.regionRank || a.tier - b.tier || rankedBefore(a.heap.items[ai].item, b.heap.items[bi].item);

/**
 * The best `count` distinct candidates of the sources in the Picker's order, or null when there is none.
 * Walks the heaps best first (a frontier of heap positions): a node that stopped accepting clients is
 * stepped over; a full node ends its branch, since everything below it in its heap has a load ratio at
 * least as high. So the cost is the answers plus the nodes stepped over, not the size of the heaps.
 */
function fromHeaps(sources: Source[], now: number, count: number, strict: boolean): LiveSlot[] | null {
  const fs: number[] = [];
  const fi: number[] = [];
  for (let s = 0; s < sources.length; s++) {
    if (sources[s].heap.items.length) {
      fs.push(s);
      fi.push(0);
    }
  }
  let out: LiveSlot[] | null = null;
  while (fs.length) {
    let m = 0;
    for (let k = 1; k < fs.length; k++) if (sourceBefore(sources[fs[k]], fi[k], sources[fs[m]], fi[m]) < 0) m = k;
    const s = fs[m];
    const src = sources[s];
    const i = fi[m];
    fs[m] = fs[fs.length - 1];
    fi[m] = fi[fi.length - 1];
    fs.pop();
    fi.pop();
    const slot = src.heap.items[i].item as LiveSlot;
    const accepting = now <= slot.acceptsUntil;
    if (accepting && (slot.capacity <= 0 || slot.used + slot.handedOut >= slot.capacity)) continue;
    const n = src.heap.items.length;
    for (let c = 2 * i + 1; c <= 2 * i + 2 && c < n; c++) {
      fs.push(s);
      fi.push(c);
    }
    if (!accepting) continue;
    if (!out) out = [slot];
    else if (!out.includes(slot)) out.push(slot);
    if (out.length === count) return out;
  }
  // Fewer than asked with strict: the scan words the refusal.
  return out && strict && count > 1 ? null : out;
}

/** Turns the picker into the answer, or the refusal that explains why there is none. */
function finish(p: Picker, req: SelectRequest, kind: SelectionKind, pool: string): Selection {
  if (!p.size) {
    if (req.region !== undefined && req.strict) {
      return refuse(503, 'region', `No ${pool} in region ${JSON.stringify(req.region)} can take the client now (strict=true); retry later or drop strict to allow other regions.`);
    }
    if (p.full > 0 && p.notAccepting === 0) {
      return refuse(503, 'full', `Every ${pool} is at capacity (${p.full} full); retry shortly while the cluster scales out.`);
    }
    return refuse(
      503,
      p.full > 0 ? 'full' : 'no-node',
      `No ${pool} can take the client now (${p.full} full, ${p.notAccepting} not accepting clients); retry shortly.`,
    );
  }
  if (req.strict && p.count > 1) {
    const available = p.distinct();
    if (available < p.count) {
      return refuse(503, 'endpoints', `Only ${available} ${pool}(s) available where ${p.count} were asked with strict=true; retry later or drop strict.`);
    }
  }
  return { ok: true, kind, slots: p.picked() };
}

/** The slot of a node that is in the view, or undefined. */
const live = (slot: NodeSlot | undefined): slot is LiveSlot => slot?.node !== undefined;

function broadcast(view: ClusterView, now: number, weights: EvaluatorWeights, req: SelectRequest, count: number, heaps: boolean): Selection {
  // Stickiness: a live stream keeps its origin (or transcoder) even when busy, unless it stopped accepting
  // clients. Region and capacity do not apply: a stream never gets two origins.
  const sticky = new Picker(now, weights, undefined, false, 1);
  for (const { slot, publishers } of view.carriersOf(req.scope, req.name) ?? []) {
    if (!live(slot) || (slot.role !== 'origin' && slot.role !== 'transcoder') || publishers <= 0) continue;
    // Tier: the origin role first should a stream somehow have several sources.
    sticky.offer(slot, slot.role === 'origin' ? 0 : 1, true);
  }
  if (sticky.best) {
    if (req.strict && count > 1) {
      return refuse(
        503,
        'endpoints',
        `Stream ${req.scope}/${req.name} is already live on ${sticky.best.address}; a stream has one origin, so ${count} endpoints with strict=true cannot be given.`,
      );
    }
    return { ok: true, kind: 'sticky', slots: [sticky.best] };
  }

  const role: Role = req.transcode && req.hasProvision ? 'transcoder' : 'origin';
  const strict = req.region !== undefined && !!req.strict;
  if (heaps) {
    const sources: Source[] = [];
    for (const [region, heap] of view.roleHeapsOf(role) ?? []) {
      const regionRank = req.region === undefined || region === req.region ? 0 : 1;
      if (!regionRank || !strict) sources.push({ heap, regionRank, tier: 0 });
    }
    const slots = fromHeaps(sources, now, count, !!req.strict);
    if (slots) return { ok: true, kind: role === 'transcoder' ? 'transcoder' : 'origin', slots, fromHeaps: true };
  }
  const p = new Picker(now, weights, req.region, !!(req.region !== undefined && req.strict), count);
  let seen = 0;
  for (const slot of view.slotsOfRole(role) ?? []) {
    if (!live(slot)) continue;
    seen++;
    p.offer(slot, 0);
  }
  if (role === 'transcoder' && seen === 0) {
    return refuse(503, 'no-transcoder', `Stream ${req.scope}/${req.name} has a provision and transcode=true, but the cluster has no transcoder node; add one to a node group's scale policy.`);
  }
  return finish(p, req, role === 'transcoder' ? 'transcoder' : 'origin', role);
}

function subscribe(view: ClusterView, now: number, weights: EvaluatorWeights, req: SelectRequest, count: number, heaps: boolean): Selection {
  if (heaps) {
    const slots = subscribeFromHeaps(view, now, req, count);
    if (slots) return { ok: true, kind: 'edge', slots, fromHeaps: true };
  }
  let sources = 0;
  let servingSources = 0;
  const p = new Picker(now, weights, req.region, !!(req.region !== undefined && req.strict), count);
  let linked = 0;
  // Sources that no edge is linked to; they serve subscribers themselves when their group has no edges.
  let unlinked: LiveSlot[] | null = null;

  // Two map lookups in all (scope, then name); sources and edges are reached through slots and links:
  // under load caches are cold, and every map lookup is a miss.
  for (const { slot: src, publishers } of view.carriersOf(req.scope, req.name) ?? []) {
    if (!live(src) || (src.role !== 'origin' && src.role !== 'transcoder')) continue;
    if (publishers <= 0) continue;
    sources++;
    // Serving: in service or draining (drain keeps existing streams), and reporting.
    if (now > src.servesUntil) continue;
    servingSources++;
    // Edges linked to the source, directly or through a relay (origin → relay → edge).
    const before = linked;
    for (const l1 of src.children) {
      const t1 = LINK_TIER[l1.state];
      const child = l1.child;
      if (t1 < 0 || !live(child)) continue;
      if (child.role === 'edge') {
        linked++;
        p.offer(child, t1);
      } else if (child.role === 'relay' && now <= child.acceptsUntil) {
        for (const l2 of child.children) {
          const t2 = LINK_TIER[l2.state];
          const edge = l2.child;
          if (t2 < 0 || !live(edge) || edge.role !== 'edge') continue;
          linked++;
          p.offer(edge, t1 > t2 ? t1 : t2);
        }
      }
    }
    if (linked === before) (unlinked ??= []).push(src);
  }

  if (!servingSources) {
    return refuse(
      404,
      'not-live',
      sources
        ? `Stream ${req.scope}/${req.name} is not live: its origin stopped reporting.`
        : `Stream ${req.scope}/${req.name} is not live; publish it first (action=broadcast).`,
    );
  }
  if (linked) return finish(p, req, 'edge', 'edge');

  // No edge linked: the source serves its subscribers itself when its group has no edges at all (or when
  // the source is a transcoder, which edges do not link to).
  let fallback = 0;
  for (const src of unlinked ?? []) {
    if (src.node.role === 'transcoder' || !hasEdges(view, src.node.group)) {
      fallback++;
      p.offer(src, 0);
    }
  }
  if (!fallback) return refuse(503, 'no-edge', `No edge is linked to the origin of ${req.scope}/${req.name} yet; retry shortly.`);
  return finish(p, req, 'origin-fallback', 'origin');
}

/** The edges subscribe() would choose first, from the heaps of the stream's sources and of their relays. */
function subscribeFromHeaps(view: ClusterView, now: number, req: SelectRequest, count: number): LiveSlot[] | null {
  const sources: Source[] = [];
  const strict = req.region !== undefined && !!req.strict;
  const add = (below: NodeSlot, minTier: number) => {
    for (const [region, pair] of below.edgeHeaps) {
      const regionRank = req.region === undefined || region === req.region ? 0 : 1;
      if (regionRank && strict) continue;
      for (let t = 0; t < 2; t++) if (pair[t].items.length) sources.push({ heap: pair[t], regionRank, tier: t > minTier ? t : minTier });
    }
  };
  for (const { slot: src, publishers } of view.carriersOf(req.scope, req.name) ?? []) {
    if (!live(src) || (src.role !== 'origin' && src.role !== 'transcoder') || publishers <= 0 || now > src.servesUntil) continue;
    add(src, 0);
    for (const l1 of src.relayLinks) {
      const t1 = LINK_TIER[l1.state];
      if (t1 >= 0 && live(l1.child) && now <= l1.child.acceptsUntil) add(l1.child, t1);
    }
  }
  return sources.length ? fromHeaps(sources, now, count, !!req.strict) : null;
}

/** Does the group have edges (any not being terminated)? Looks at edges only, not at every node. */
function hasEdges(view: ClusterView, group: string): boolean {
  for (const { node } of view.slotsOfRole('edge') ?? []) {
    if (node && node.group === group && node.state !== 'terminating' && node.state !== 'terminated') return true;
  }
  return false;
}
