import type { ClusterNode, LinkState, Role } from '../domain/types.ts';
import type { Config } from '../config/schema.ts';
import { acceptsClients, isResponsive, type ClusterView } from '../cluster/view.ts';

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
 *   3. load ratio = view.load(n) / n.capacity, where view.load counts the connections of the last
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
 * A node is full when view.load(n) >= n.capacity; a full node is never chosen, except the origin a live
 * stream already has (a stream never gets two origins, so a second broadcast goes back to it).
 */

export type BrokerAction = 'broadcast' | 'subscribe';

export interface EvaluatorWeights {
  streams: number;
  connections: number;
  subscribers: number;
  memory: number;
  restreamer: number;
}

export const DEFAULT_WEIGHTS: EvaluatorWeights = { streams: 30, connections: 15, subscribers: 60, memory: 20, restreamer: 35 };

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

export type Selection =
  | { ok: true; kind: SelectionKind; nodes: ClusterNode[] }
  | { ok: false; status: 404 | 503; code: RefusalCode; message: string };

interface Candidate {
  node: ClusterNode;
  regionRank: number;
  tier: number;
  ratio: number;
  pressure: number;
}

const refuse = (status: 404 | 503, code: RefusalCode, message: string): Selection => ({ ok: false, status, code, message });

/** Link states through which an edge can reach its parent: 0 = ready, 1 = coming up, -1 = unusable. */
const LINK_TIER: Record<LinkState, number> = {
  established: 0,
  prospective: 1,
  connecting: 1,
  disconnecting: -1,
  disconnected: -1,
  error: -1,
};

export function isFull(view: ClusterView, n: ClusterNode): boolean {
  return n.capacity <= 0 || view.load(n) >= n.capacity;
}

export function pressureOf(n: ClusterNode, w: EvaluatorWeights): number {
  const total = w.memory + w.connections;
  if (total <= 0) return 0;
  return (w.memory * (n.memory ?? 0.5) + w.connections * (n.cpu ?? 0.5)) / total;
}

function compare(a: Candidate, b: Candidate): number {
  return (
    a.regionRank - b.regionRank ||
    a.tier - b.tier ||
    a.ratio - b.ratio ||
    a.pressure - b.pressure ||
    (a.node.address < b.node.address ? -1 : a.node.address > b.node.address ? 1 : 0)
  );
}

/** Ranks and returns the best `count` candidates (one linear scan for a single answer). */
function best(cands: Candidate[], count: number): ClusterNode[] {
  if (count === 1) {
    let top = cands[0];
    for (let i = 1; i < cands.length; i++) if (compare(cands[i], top) < 0) top = cands[i];
    return top ? [top.node] : [];
  }
  return cands
    .slice()
    .sort(compare)
    .slice(0, count)
    .map((c) => c.node);
}

/** Origins or transcoders where the stream is being published (publishers > 0). */
export function streamSources(view: ClusterView, scope: string, name: string): ClusterNode[] {
  const out: ClusterNode[] = [];
  for (const n of view.nodesWithStream(scope, name)) {
    if (n.role !== 'origin' && n.role !== 'transcoder') continue;
    const s = view.stream(n.address, scope, name);
    if (s && s.publishers > 0) out.push(n);
  }
  return out;
}

/** A source still serving its stream: in service or draining (drain keeps existing streams) and reporting. */
const serving = (n: ClusterNode, now: number) => (n.state === 'inservice' || n.state === 'draining') && isResponsive(n, now);

export function select(view: ClusterView, now: number, weights: EvaluatorWeights, req: SelectRequest): Selection {
  const count = req.endpoints && req.endpoints > 1 ? Math.floor(req.endpoints) : 1;
  return req.action === 'broadcast' ? broadcast(view, now, weights, req, count) : subscribe(view, now, weights, req, count);
}

function candidate(view: ClusterView, n: ClusterNode, weights: EvaluatorWeights, region: string | undefined, tier = 0): Candidate {
  return {
    node: n,
    regionRank: region === undefined || n.region === region ? 0 : 1,
    tier,
    ratio: n.capacity > 0 ? view.load(n) / n.capacity : Infinity,
    pressure: pressureOf(n, weights),
  };
}

/**
 * Applies `region`/`strict`/`endpoints` to candidates that all accept clients and are not full, and
 * picks the answer. `pool` describes the candidates in refusal messages.
 */
function finish(
  cands: Candidate[],
  req: SelectRequest,
  count: number,
  kind: SelectionKind,
  pool: string,
  notAvailable: { full: number; notAccepting: number },
): Selection {
  if (req.region !== undefined && req.strict) cands = cands.filter((c) => c.regionRank === 0);
  if (!cands.length) {
    if (req.region !== undefined && req.strict) {
      return refuse(503, 'region', `No ${pool} in region ${JSON.stringify(req.region)} can take the client now (strict=true); retry later or drop strict to allow other regions.`);
    }
    if (notAvailable.full > 0 && notAvailable.notAccepting === 0) {
      return refuse(503, 'full', `Every ${pool} is at capacity (${notAvailable.full} full); retry shortly while the cluster scales out.`);
    }
    return refuse(
      503,
      notAvailable.full > 0 ? 'full' : 'no-node',
      `No ${pool} can take the client now (${notAvailable.full} full, ${notAvailable.notAccepting} not accepting clients); retry shortly.`,
    );
  }
  if (req.strict && count > 1 && cands.length < count) {
    return refuse(503, 'endpoints', `Only ${cands.length} ${pool}(s) available where ${count} were asked with strict=true; retry later or drop strict.`);
  }
  return { ok: true, kind, nodes: best(cands, count) };
}

function broadcast(view: ClusterView, now: number, weights: EvaluatorWeights, req: SelectRequest, count: number): Selection {
  // Stickiness: a live stream keeps its origin (or transcoder) even when busy, unless it stopped accepting clients.
  const live: Candidate[] = [];
  for (const n of streamSources(view, req.scope, req.name)) if (acceptsClients(n, now)) live.push(candidate(view, n, weights, undefined));
  if (live.length) {
    // Prefer the origin role when a stream somehow has several sources, then the usual ranking.
    for (const c of live) c.tier = c.node.role === 'origin' ? 0 : 1;
    if (req.strict && count > 1) {
      return refuse(
        503,
        'endpoints',
        `Stream ${req.scope}/${req.name} is already live on ${best(live, 1)[0].address}; a stream has one origin, so ${count} endpoints with strict=true cannot be given.`,
      );
    }
    return { ok: true, kind: 'sticky', nodes: best(live, 1) };
  }

  const role: Role = req.transcode && req.hasProvision ? 'transcoder' : 'origin';
  const cands: Candidate[] = [];
  const notAvailable = { full: 0, notAccepting: 0 };
  for (const n of view.nodes.values()) {
    if (n.role !== role) continue;
    if (!acceptsClients(n, now)) notAvailable.notAccepting++;
    else if (isFull(view, n)) notAvailable.full++;
    else cands.push(candidate(view, n, weights, req.region));
  }
  if (role === 'transcoder' && !cands.length && notAvailable.full + notAvailable.notAccepting === 0) {
    return refuse(503, 'no-transcoder', `Stream ${req.scope}/${req.name} has a provision and transcode=true, but the cluster has no transcoder node; add one to a node group's scale policy.`);
  }
  return finish(cands, req, count, role === 'transcoder' ? 'transcoder' : 'origin', role, notAvailable);
}

function subscribe(view: ClusterView, now: number, weights: EvaluatorWeights, req: SelectRequest, count: number): Selection {
  const all = streamSources(view, req.scope, req.name);
  const sources = all.filter((n) => serving(n, now));
  if (!sources.length) {
    return refuse(
      404,
      'not-live',
      all.length
        ? `Stream ${req.scope}/${req.name} is not live: its origin stopped reporting.`
        : `Stream ${req.scope}/${req.name} is not live; publish it first (action=broadcast).`,
    );
  }

  // Edges linked to a source, directly or through a relay (origin → relay → edge); best tier per edge.
  const tiers = new Map<string, { node: ClusterNode; tier: number }>();
  const consider = (edge: ClusterNode, tier: number) => {
    const seen = tiers.get(edge.address);
    if (!seen || tier < seen.tier) tiers.set(edge.address, { node: edge, tier });
  };
  for (const src of sources) {
    for (const child of view.childrenOf(src.address)) {
      const t1 = LINK_TIER[view.relation(src.address, child.address)?.state ?? 'disconnected'];
      if (t1 < 0) continue;
      if (child.role === 'edge') consider(child, t1);
      else if (child.role === 'relay' && acceptsClients(child, now)) {
        for (const edge of view.childrenOf(child.address)) {
          if (edge.role !== 'edge') continue;
          const t2 = LINK_TIER[view.relation(child.address, edge.address)?.state ?? 'disconnected'];
          if (t2 >= 0) consider(edge, Math.max(t1, t2));
        }
      }
    }
  }

  const notAvailable = { full: 0, notAccepting: 0 };
  const cands: Candidate[] = [];
  if (tiers.size) {
    for (const { node, tier } of tiers.values()) {
      if (!acceptsClients(node, now)) notAvailable.notAccepting++;
      else if (isFull(view, node)) notAvailable.full++;
      else cands.push(candidate(view, node, weights, req.region, tier));
    }
    return finish(cands, req, count, 'edge', 'edge', notAvailable);
  }

  // No edge linked: the source serves its subscribers itself when its group has no edges at all (or when
  // the source is a transcoder, which edges do not link to).
  const withoutEdges = sources.filter((s) => s.role === 'transcoder' || !hasEdges(view, s.group));
  if (!withoutEdges.length) {
    return refuse(503, 'no-edge', `No edge is linked to the origin of ${req.scope}/${req.name} yet; retry shortly.`);
  }
  for (const s of withoutEdges) {
    if (!acceptsClients(s, now)) notAvailable.notAccepting++;
    else if (isFull(view, s)) notAvailable.full++;
    else cands.push(candidate(view, s, weights, req.region));
  }
  return finish(cands, req, count, 'origin-fallback', 'origin', notAvailable);
}

/** Does the group have edges (any not being terminated)? */
function hasEdges(view: ClusterView, group: string): boolean {
  for (const n of view.nodes.values()) {
    if (n.group === group && n.role === 'edge' && n.state !== 'terminating' && n.state !== 'terminated') return true;
  }
  return false;
}
