import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ClusterView } from '../../cluster/view.ts';
import type { NodeOps } from '../../cluster/node-ops.ts';
import { badRequest, notFound } from '../../lib/errors.ts';
import { parse } from '../validate.ts';
import { nodeJson } from '../node-json.ts';

/** Node addresses in paths and bodies: an IP (v4/v6) or a host name, nothing else. */
export const addressSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.\-:]+$/, 'must be an IP address or host name');

const addressParams = z.object({ address: addressSchema });
export const sunsetBody = z.array(addressSchema).min(1, 'send a JSON array of node addresses').max(1000);

/** Nodes by address: N1–N4. Admin plugin. */
export function nodeRoutes(deps: { view: ClusterView; ops: Pick<NodeOps, 'terminate' | 'drain'> }): FastifyPluginAsync {
  const { view } = deps;
  const nodeOf = (params: unknown) => {
    const { address } = parse(addressParams, params, 'params');
    const n = view.nodes.get(address);
    if (!n) throw notFound(`No node with address ${address}.`);
    return n;
  };

  return async (app) => {
    app.get('/node/:address', async (req) => nodeJson(nodeOf(req.params), true));

    app.get('/node/:address/stats', async (req) => {
      const n = nodeOf(req.params);
      return {
        totalConnections: n.connections.publishers + n.connections.subscribers,
        parents: view.parentsOf(n.address).map((r) => r.parent),
        lastTrafficTime: n.lastTrafficTime,
        lastPing: n.lastReport ?? 0,
        ...nodeJson(n, true),
      };
    });

    app.delete('/node/:address', async (req) => {
      const n = nodeOf(req.params);
      const force = String((req.query as Record<string, unknown>).force) === 'true';
      if (!force && n.state !== 'inservice' && n.state !== 'draining') {
        throw badRequest(`Node ${n.address} is ${n.state}; only in-service nodes can be terminated (add force=true to terminate it anyway).`);
      }
      const before = nodeJson(n, true);
      await deps.ops.terminate(n.address, { reason: `terminated by the administrator${force ? ' (force)' : ''}`, cloudReason: 'operator' });
      return before;
    });

    // N4: no new clients, a replacement is launched (the autoscaler keeps minLimit without draining
    // nodes), terminated once empty or after the drain timeout.
    app.post('/node/sunset', async (req) => {
      const addresses = parse(sunsetBody, req.body, 'body');
      const unknown = addresses.filter((a) => !view.nodes.has(a));
      if (unknown.length) throw badRequest(`Not nodes of this manager: ${unknown.join(', ')}; nothing was sunset.`);
      const sunset: string[] = [];
      for (const a of addresses) if (await deps.ops.drain(a, 'sunset by the administrator')) sunset.push(a);
      return { count: sunset.length, nodes: sunset, timestamp: Date.now() };
    });
  };
}
