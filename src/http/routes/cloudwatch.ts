import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { bearerOf, safeEqual } from '../auth.ts';
import { unauthorized } from '../../lib/errors.ts';
import { parse } from '../validate.ts';
import { peerAddress } from '../../lib/hosts.ts';
import { nodeMessageSchema, type NodeProtocol } from '../../cluster/node-protocol.ts';

/** `POST /streammanager/cloudwatch`: node protocol v1, authenticated with the cluster password. */
export function cloudwatchRoutes(deps: { clusterPassword: string; protocol: NodeProtocol }): FastifyPluginAsync {
  // onRequest runs before the body is read: an unauthenticated caller costs no parsing (up to 2 MB, lenient parser).
  const authenticate = async (req: FastifyRequest) => {
    const token = bearerOf(req);
    if (!token || !safeEqual(token, deps.clusterPassword)) {
      throw unauthorized('Node report refused: send Authorization: Bearer <cluster.password>.');
    }
  };
  return async (app) => {
    app.post('/streammanager/cloudwatch', { onRequest: authenticate }, async (req) =>
      deps.protocol.handle(deps.protocol.quick(req.body) ?? parse(nodeMessageSchema, req.body, 'node message'), peerAddress(req.socket.remoteAddress)),
    );
  };
}
