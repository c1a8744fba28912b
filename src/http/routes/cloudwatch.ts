import type { FastifyPluginAsync } from 'fastify';
import { bearerOf, safeEqual } from '../auth.ts';
import { unauthorized } from '../../lib/errors.ts';
import { parse } from '../validate.ts';
import { nodeMessageSchema, type NodeProtocol } from '../../cluster/node-protocol.ts';

/** `POST /streammanager/cloudwatch`: node protocol v1, authenticated with the cluster password. */
export function cloudwatchRoutes(deps: { clusterPassword: string; protocol: NodeProtocol }): FastifyPluginAsync {
  return async (app) => {
    app.post('/streammanager/cloudwatch', async (req) => {
      const token = bearerOf(req);
      if (!token || !safeEqual(token, deps.clusterPassword)) {
        throw unauthorized('Node report refused: send Authorization: Bearer <cluster.password>.');
      }
      return deps.protocol.handle(parse(nodeMessageSchema, req.body, 'node message'));
    });
  };
}
