import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ROLES, type ClusterNode, type NodeGroup, type Role } from '../../domain/types.ts';
import type { GroupControls } from '../../catalog/group-controls.ts';
import type { ClusterView } from '../../cluster/view.ts';
import { isSmartGroupBody, type GroupService } from '../../cluster/groups.ts';
import type { ClusterStore } from '../../store/cluster-store.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { capacityFor } from '../../domain/launch-config.ts';
import { nameSchema } from '../../domain/launch-config.ts';
import { parse } from '../validate.ts';
import { groupJson, nodeJson, relationNodeJson } from '../node-json.ts';

const groupParams = z.object({ group: nameSchema });
export const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Node groups: G1–G13 and the scale event log (our extension). Admin plugin. */
export function groupRoutes(deps: {
  groups: GroupService;
  view: ClusterView;
  store: ClusterStore;
  catalog: Pick<Catalog, 'launchConfig'>;
  controls?: Pick<GroupControls, 'of'>;
}): FastifyPluginAsync {
  const { groups, view } = deps;
  // A paused group says so in its read (PUT …/autoscale); the classic shape is unchanged otherwise.
  const read = (g: NodeGroup) => {
    const c = deps.controls?.of(g.name);
    return c?.paused ? { ...groupJson(g), paused: true, replaceDead: c.replaceDead } : groupJson(g);
  };
  const groupOf = (params: unknown) => groups.get(parse(groupParams, params, 'params').group);
  const listed = (nodes: ClusterNode[]) => nodes.sort((a, b) => a.launchTime - b.launchTime || a.id - b.id).map((n) => nodeJson(n));

  return async (app) => {
    app.post('/nodegroup', async (req, reply) => {
      // G2 smart create with autoinit: the first origin is on its way; the classic answer says `initializing`.
      const autoinit = String((req.query as Record<string, unknown>).autoinit).toLowerCase() === 'true';
      const smart = isSmartGroupBody(req.body);
      const g = await groups.create(req.body, { autoinit });
      return reply.code(201).send(autoinit && smart ? { ...groupJson(g), state: 'initializing' } : groupJson(g));
    });
    // G5 resize: origin/edge limits of existing regions from publisher/subscriber ranges.
    app.put('/nodegroup/:group', async (req) => groupJson(await groups.resize(groupOf(req.params).name, req.body)));
    app.get('/nodegroup', async () => groups.list().map(read));
    app.get('/nodegroup/:group', async (req) => read(groupOf(req.params)));
    app.delete('/nodegroup/:group', async (req) => groupJson(await groups.remove(groupOf(req.params).name)));

    app.get('/nodegroup/:group/node', async (req) => listed(view.nodesOf(groupOf(req.params).name)));
    for (const role of ['origin', 'edge', 'relay', 'transcoder'] as Role[]) {
      // `/node/edge/` with a trailing slash is what an SDK example sends.
      app.get(`/nodegroup/:group/node/${role}`, async (req) => listed(view.nodesOf(groupOf(req.params).name, role)));
      app.get(`/nodegroup/:group/node/${role}/`, async (req) => listed(view.nodesOf(groupOf(req.params).name, role)));
    }
    app.get('/nodegroup/:group/node/', async (req) => listed(view.nodesOf(groupOf(req.params).name)));

    app.post('/nodegroup/:group/node/origin', async (req, reply) => {
      const g = groupOf(req.params);
      const n = await groups.launchOrigin(g.name);
      return reply.code(201).send({
        id: n.id,
        identifier: n.identifier,
        availabilityZone: n.availabilityZone,
        role: n.role,
        group: n.group,
        requestTime: n.launchTime,
      });
    });

    app.get('/nodegroup/:group/stats', async (req) => {
      const g = groupOf(req.params);
      const lc = deps.catalog.launchConfig(g.launchConfig);
      const nodes = view.nodesOf(g.name);
      const roles = ROLES.filter((r) => (lc && capacityFor(lc, r) !== null) || nodes.some((n) => n.role === r));
      const summary = roles.map((type) => {
        const ofRole = nodes.filter((n) => n.role === type && n.state !== 'terminated');
        const active = ofRole.filter((n) => n.state === 'inservice');
        return {
          type,
          totalNodeCount: ofRole.length,
          totalActiveNodeCount: active.length,
          netConnectionCapacity: active.reduce((s, n) => s + n.capacity, 0),
          netConnectionLoad: active.reduce((s, n) => s + n.connections.publishers + n.connections.subscribers, 0),
        };
      });
      return { totalConnections: summary.reduce((s, r) => s + r.netConnectionLoad, 0), targetTypeLoadSummary: summary };
    });

    app.get('/nodegroup/:group/node/relations', async (req) => {
      const g = groupOf(req.params);
      const withLink = String((req.query as Record<string, unknown>).linkstate) === 'true';
      return view.relationsOf(g.name).flatMap((r) => {
        const parent = view.nodes.get(r.parent);
        const child = view.nodes.get(r.child);
        if (!parent || !child) return [];
        return [{ parent: relationNodeJson(parent), child: relationNodeJson(child), ...(withLink ? { link: { state: r.state, stateUpdated: r.stateUpdated } } : {}) }];
      });
    });

    app.get('/nodegroup/:group/node/map', async (req, reply) => reply.type('text/plain; charset=utf-8').send(clusterMap(groupOf(req.params).name, view)));

    app.get('/nodegroup/:group/events', async (req) => {
      const g = groupOf(req.params);
      const q = parse(eventsQuery, req.query, 'query');
      const [events, total] = await Promise.all([deps.store.listScaleEvents(g.name, q), deps.store.countScaleEvents(g.name)]);
      return { group: g.name, total, limit: q.limit, offset: q.offset, events };
    });
  };
}

/** G13: the classic text tree of a cluster (origins, their relays and edges, transcoders). */
export function clusterMap(group: string, view: ClusterView): string {
  const lines = [`[NodeGroup: ${group}`, ']'];
  const origins = view.nodesOf(group, 'origin');
  lines.push(`|-> [ORIGINS: ${origins.map((o) => o.address).join(',\n    ')}`, ']');
  const walk = (parent: string, depth: number) => {
    for (const child of view.childrenOf(parent)) {
      const link = view.relation(parent, child.address);
      lines.push(`${'|   '.repeat(depth)}|->  ${(link?.state ?? 'unknown').toUpperCase()} [${child.role.toUpperCase()}-${child.region}: ${child.address}`, ']');
      if (depth < 4) walk(child.address, depth + 1);
    }
  };
  for (const o of origins) walk(o.address, 1);
  const transcoders = view.nodesOf(group, 'transcoder');
  if (transcoders.length) lines.push(`·-> [TRANSCODERS: ${transcoders.map((t) => t.address).join(',\n    ')}`, ']');
  return lines.join('\n') + '\n';
}
