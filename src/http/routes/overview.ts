import type { FastifyPluginAsync } from 'fastify';
import type { ClusterNode } from '../../domain/types.ts';
import { streamKey, type ClusterView } from '../../cluster/view.ts';
import type { Clock } from '../../lib/clock.ts';
import { buildSnapshot, type SnapshotSources } from '../../autoscaler/snapshot.ts';
import { estimateRole, groupMode, round1 } from '../../autoscaler/estimator.ts';
import { groupJson, nodeJson } from '../node-json.ts';

export interface OverviewDeps {
  view: ClusterView;
  catalog: SnapshotSources['catalog'];
  cloud: SnapshotSources['cloud'];
  settings: SnapshotSources['settings'];
  clock: Clock;
  /** Per-group autoscaling controls (pause). */
  paused: (group: string) => boolean;
  /** dashboard.refreshInterval: how often the dashboard asks again (ms). */
  refreshMs: number;
}

/**
 * `GET /admin/overview` (ours): one consistent read of the cluster for the dashboard, with the numbers the
 * autoscaler decides on (the same snapshot and estimator), node details the classic node JSON lacks
 * (connections, last report, links) and the live streams grouped across nodes. Admin plugin.
 */
export function overviewRoutes(deps: OverviewDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/overview', async (_req, reply) => {
      reply.header('cache-control', 'no-store');
      return overview(deps, deps.clock.now());
    });
  };
}

export function overview(deps: OverviewDeps, now: number) {
  const { view, settings } = deps;
  const snap = buildSnapshot({ view, catalog: deps.catalog, cloud: deps.cloud, settings }, now);
  const groups = snap.groups.map((g) => {
    const group = view.groups.get(g.name)!;
    const lc = deps.catalog.launchConfig(g.launchConfig);
    return {
      ...groupJson(group),
      mode: groupMode(g, settings, now),
      paused: deps.paused(g.name),
      policyFound: g.policyFound,
      targets: lc?.targets.target.map((t) => ({ role: t.role, instanceType: t.instanceType, connectionCapacity: t.connectionCapacity })) ?? [],
      roles: g.roles.map((r) => {
        const e = estimateRole(r, settings, now);
        return {
          region: r.region,
          role: r.role,
          threshold: r.threshold,
          minLimit: r.target.minLimit,
          maxLimit: r.target.maxLimit,
          loadPct: round1(e.loadPct),
          projectedPct: round1(e.projectedPct),
          connections: e.connections,
          capacity: e.capacity,
          inservice: e.inservice,
          pending: e.pending,
          launching: e.inFlight,
          draining: e.draining,
          dead: e.dead,
          failed: e.failed,
        };
      }),
      nodes: view
        .nodesOf(g.name)
        .sort((a, b) => a.launchTime - b.launchTime || a.address.localeCompare(b.address))
        .map((n) => nodeDetail(n, view, now)),
      launching: g.inFlight.map((l) => ({ identifier: l.identifier, role: l.role, zone: l.zone, since: l.since })),
    };
  });
  return { now, refreshMs: deps.refreshMs, groups, streams: liveStreams(view) };
}

function nodeDetail(n: ClusterNode, view: ClusterView, now: number) {
  return {
    ...nodeJson(n),
    region: n.region,
    port: n.port,
    publishers: n.connections.publishers,
    subscribers: n.connections.subscribers,
    load: view.load(n),
    lastReport: n.lastReport,
    reportAgeMs: n.lastReport === null ? null : now - n.lastReport,
    reportingSpeed: n.reportingSpeed,
    stateReason: n.stateReason,
    parents: view.parentsOf(n.address).map((r) => ({ address: r.parent, state: r.state })),
  };
}

/** One row per (scope, name): where it is published and which edges carry it. */
function liveStreams(view: ClusterView) {
  const rows = new Map<string, { scope: string; name: string; origins: string[]; edges: string[]; others: string[]; publishers: number; subscribers: number; startTime: number }>();
  for (const s of view.allStreams()) {
    const key = streamKey(s.scope, s.name);
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { scope: s.scope, name: s.name, origins: [], edges: [], others: [], publishers: 0, subscribers: 0, startTime: s.startTime }));
    const role = view.nodes.get(s.address)?.role;
    (role === 'origin' ? row.origins : role === 'edge' ? row.edges : row.others).push(s.address);
    row.publishers += s.publishers;
    row.subscribers += s.subscribers;
    row.startTime = Math.min(row.startTime, s.startTime);
  }
  for (const row of rows.values()) for (const list of [row.origins, row.edges, row.others]) list.sort();
  return [...rows.values()].sort((a, b) => a.scope.localeCompare(b.scope) || a.name.localeCompare(b.name));
}
