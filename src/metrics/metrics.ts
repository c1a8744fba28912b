import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { NODE_STATES, SCALE_EVENT_KINDS, type ClusterNode, type ScaleEvent } from '../domain/types.ts';
import { isResponsive, type ClusterView } from '../cluster/view.ts';
import type { Clock } from '../lib/clock.ts';

/**
 * Prometheus metrics (design §9). Each manager gets its own Registry, so several managers can live in
 * one process (tests) without clashing on metric names. Observe methods sit on hot paths (every HTTP
 * request, every broker decision, every node report): they cost a Map lookup and an increment. Anything
 * derived from cluster state is computed from the view when Prometheus scrapes, never on the hot path.
 */

export interface MetricsSources {
  /** Groups whose autoscaling is paused (PUT …/nodegroup/{group}/autoscale). */
  pausedGroups?: () => string[];
  /** The WebSocket proxy's running totals (sessions open now, bytes since start). */
  proxyStats?: () => { sessions: number; bytesIn: number; bytesOut: number };
  /** The autoscaler loop's status; epoch ms and ms as the loop reports them. */
  autoscalerStatus?: () => { leader: boolean; lastSuccessAt: number | null; lastDurationMs: number | null };
}

export interface MetricsDeps {
  view: ClusterView;
  clock: Clock;
  sources?: MetricsSources;
  /** cluster.password is the published classic default `changeme` (shown as a gauge so it gets noticed). */
  classicClusterPassword?: boolean;
}

/** Route label for requests that matched no route: raw URLs would make the label set unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';
/** Past this many label combinations a count goes straight to prom-client (bounded memory, slower path). */
const MAX_CELLS = 5_000;

/** Pseudo-state for instances requested from the cloud that have no address yet (view.launching). */
export const LAUNCHING_STATE = 'launching';

export function createMetrics(deps: MetricsDeps) {
  const { view, clock } = deps;
  let sources: MetricsSources = { ...deps.sources };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const registers = [registry];

  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
    collect: () => httpCells.flush(),
  });
  const httpCells = new HotCounts((k, n) => httpRequests.inc({ route: k[0], method: k[1], status: k[2] }, n));

  const brokerDecisions = new Counter({
    name: 'broker_decisions_total',
    help: 'Broker answers, by action (broadcast, subscribe) and outcome.',
    labelNames: ['action', 'outcome'] as const,
    registers,
    collect: () => brokerCells.flush(),
  });
  const brokerCells = new HotCounts((k, n) => brokerDecisions.inc({ action: k[0], outcome: k[1] }, n));

  const scaleEvents = new Counter({
    name: 'scale_events_total',
    help: 'Scale events recorded (launch, drain, terminate, replace, refused...), by kind.',
    labelNames: ['kind'] as const,
    registers,
  });
  // Every kind starts at 0 so rate()/increase() see the first event.
  for (const kind of SCALE_EVENT_KINDS) scaleEvents.inc({ kind }, 0);

  const tickDuration = new Histogram({
    name: 'autoscaler_tick_duration_seconds',
    help: 'Duration of one autoscaler evaluation.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  const reportLag = new Histogram({
    name: 'node_report_lag_seconds',
    help: 'How late node reports arrive against the reporting speed the manager told each node (0 = on time).',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });

  new Gauge({
    name: 'nodes',
    help: `Nodes by group, role and state (state "${LAUNCHING_STATE}": requested from the cloud, no address yet).`,
    labelNames: ['group', 'role', 'state'] as const,
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      const key = (g: string, r: string, s: string) => `${g}\u0000${r}\u0000${s}`;
      const roles = new Map<string, Set<string>>();
      const touch = (g: string, r: string, s: string) => {
        counts.set(key(g, r, s), (counts.get(key(g, r, s)) ?? 0) + 1);
        (roles.get(g) ?? roles.set(g, new Set()).get(g)!).add(r);
      };
      for (const n of view.nodes.values()) touch(n.group, n.role, n.state);
      for (const l of view.launching.values()) touch(l.group, l.role, LAUNCHING_STATE);
      // Roles a group uses get every state, zeros included, so a series drops to 0 instead of vanishing
      // when its last node leaves that state.
      for (const g of view.groups.keys()) if (!roles.has(g)) roles.set(g, new Set());
      for (const [group, rs] of roles) {
        for (const role of rs) {
          for (const state of [...NODE_STATES, LAUNCHING_STATE]) this.set({ group, role, state }, counts.get(key(group, role, state)) ?? 0);
        }
      }
    },
  });

  new Gauge({
    name: 'group_load_percent',
    help: 'Load of a role in a group: connections of its inservice nodes (with clients handed out since their last report) / their capacity x 100 (design §6).',
    labelNames: ['group', 'role'] as const,
    registers,
    collect() {
      this.reset();
      for (const [k, { used, capacity }] of loadByGroupRole(view)) {
        const [group, role] = k.split('\u0000');
        this.set({ group, role }, capacity > 0 ? (used / capacity) * 100 : 0);
      }
    },
  });

  // Unlabelled gauges always have a value in prom-client: with no source they read 0, which is true
  // (no autoscaler here leads, no proxy has sessions); a timestamp of 0 means "never".
  new Gauge({
    name: 'autoscaler_leader',
    help: '1 when this instance holds the autoscaler lease and runs the loop, else 0.',
    registers,
    collect() {
      this.set(sources.autoscalerStatus?.().leader ? 1 : 0);
    },
  });

  new Gauge({
    name: 'autoscaler_last_success_timestamp_seconds',
    help: 'When the autoscaler last completed a tick without error (Unix seconds; 0 = never on this instance).',
    registers,
    collect() {
      this.set((sources.autoscalerStatus?.().lastSuccessAt ?? 0) / 1000);
    },
  });

  new Gauge({
    name: 'cluster_password_classic_default',
    help: '1 when cluster.password is the published classic default "changeme" (anyone can report for nodes); set a password or remove the key.',
    registers,
  }).set(deps.classicClusterPassword ? 1 : 0);

  new Gauge({
    name: 'group_autoscale_paused',
    help: '1 for each group whose autoscaling is paused (no automatic launch, drain or termination).',
    labelNames: ['group'] as const,
    registers,
    collect() {
      this.reset();
      for (const group of sources.pausedGroups?.() ?? []) this.set({ group }, 1);
    },
  });

  new Gauge({
    name: 'proxy_sessions',
    help: 'WebSocket proxy sessions open now.',
    registers,
    collect() {
      this.set(sources.proxyStats?.().sessions ?? 0);
    },
  });

  new Gauge({
    name: 'nodes_unresponsive',
    help: 'Inservice or draining nodes that missed two reports (they get no new clients; design §6), by group and role.',
    labelNames: ['group', 'role'] as const,
    registers,
    collect() {
      this.reset();
      const now = clock.now();
      for (const n of view.nodes.values()) {
        if (n.state !== 'inservice' && n.state !== 'draining') continue;
        this.inc({ group: n.group, role: n.role }, isResponsive(n, now) ? 0 : 1);
      }
    },
  });

  // The proxy keeps running byte totals; the counter follows them by adding the growth since the last
  // scrape. A total that went down (proxy replaced or restarted) starts over from its new value.
  const seenBytes = { in: 0, out: 0 };
  new Counter({
    name: 'proxy_bytes_total',
    help: 'Bytes relayed by the WebSocket proxy; direction "in" = client to node, "out" = node to client.',
    labelNames: ['direction'] as const,
    registers,
    collect() {
      const s = sources.proxyStats?.();
      if (!s) return;
      for (const [direction, total] of [['in', s.bytesIn], ['out', s.bytesOut]] as const) {
        if (!Number.isFinite(total) || total < 0) continue;
        const delta = total >= seenBytes[direction] ? total - seenBytes[direction] : total;
        seenBytes[direction] = total;
        this.inc({ direction }, delta);
      }
    },
  });

  return {
    registry,
    /** Content type of metrics() (Prometheus text format). */
    contentType: registry.contentType,
    /** The Prometheus text of every metric, computed now. */
    metrics: (): Promise<string> => registry.metrics(),
    /** Plugs sources in after construction (the proxy and the autoscaler are built after the metrics). */
    setSources(next: MetricsSources) {
      sources = { ...sources, ...next };
    },
    /** One answered HTTP request. `route` is the route pattern (`/nodegroup/:group`), never the raw URL. */
    observeRequest(route: string | undefined, method: string, status: number) {
      httpCells.add(route || UNMATCHED_ROUTE, method, status);
    },
    /**
     * One broker answer (Broker `onDecision`): action `broadcast` | `subscribe`; outcome the selection kind
     * on success (`edge`, `origin`, `sticky`...) or the refusal code (`not-live`, `full`, `no-node`...).
     */
    brokerDecision(action: string, outcome: string) {
      brokerCells.add(action, outcome);
    },
    /** One recorded scale event (EventLog.onRecord). */
    scaleEvent(e: Pick<ScaleEvent, 'kind'>) {
      scaleEvents.inc({ kind: e.kind });
    },
    /** Duration of one autoscaler tick, in ms. */
    autoscalerTick(ms: number) {
      tickDuration.observe(Math.max(0, ms) / 1000);
    },
    /** How late a node's report was, in ms (NodeProtocol.onReport). The node is not a label: unbounded. */
    reportLag(_node: ClusterNode | unknown, ms: number) {
      reportLag.observe(Math.max(0, ms) / 1000);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

type Key = string | number;

/**
 * Counts on the hottest paths (every request, every broker answer). prom-client hashes the label object
 * on each inc(), which costs more than the broker's decision; here a count is a walk down nested maps keyed
 * by the label values themselves (route patterns and methods are the same string objects every time, so
 * their hashes are cached) and a field increment. The counter's collect() moves the sums into prom-client
 * when Prometheus scrapes.
 */
class HotCounts {
  private readonly root = new Map<Key, Map<Key, Map<Key, Cell>>>();
  private readonly cells: Cell[] = [];

  /** `inc` adds to the prom-client counter (labels in add() order). */
  constructor(private readonly inc: (labels: string[], n: number) => void) {}

  /** Counts one occurrence of the labels (a, b, c); two-label counters leave `c` out. */
  add(a: Key, b: Key, c: Key = ''): void {
    const cell = this.root.get(a)?.get(b)?.get(c);
    if (cell) cell.n++;
    else if (this.cells.length < MAX_CELLS) this.newCell(a, b, c);
    else this.inc([String(a), String(b), String(c)], 1);
  }

  private newCell(a: Key, b: Key, c: Key) {
    let byB = this.root.get(a);
    if (!byB) this.root.set(a, (byB = new Map()));
    let byC = byB.get(b);
    if (!byC) byB.set(b, (byC = new Map()));
    const cell = { key: [String(a), String(b), String(c)], n: 1 };
    byC.set(c, cell);
    this.cells.push(cell);
  }

  /** Moves every count since the last flush into the prom-client counter. */
  flush(): void {
    for (const c of this.cells) {
      if (!c.n) continue;
      this.inc(c.key, c.n);
      c.n = 0;
    }
  }
}

interface Cell {
  readonly key: string[];
  n: number;
}
/** Connections and capacity of inservice nodes per `group\0role` (design §6 load). */
function loadByGroupRole(view: ClusterView): Map<string, { used: number; capacity: number }> {
  const out = new Map<string, { used: number; capacity: number }>();
  for (const n of view.nodes.values()) {
    if (n.state !== 'inservice') continue;
    const k = `${n.group}\u0000${n.role}`;
    const acc = out.get(k) ?? { used: 0, capacity: 0 };
    // view.load, as the autoscaler counts it: clients handed out since the last report included.
    acc.used += view.load(n);
    acc.capacity += n.capacity;
    out.set(k, acc);
  }
  return out;
}
