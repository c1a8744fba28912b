/**
 * Proxy session admin (reference/classic-api.md §2.9), mounted under `/admin`:
 *   GET    /proxy/clients[?filter=any|healthy|unhealthy][&count=true]
 *   GET    /proxy/clients/:id
 *   DELETE /proxy/clients/:id
 *   DELETE /proxy/clients
 * WebSocket sessions and WHIP/WHEP sessions (`type: whip|whep`) are listed and closed together.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { parse } from '../validate.ts';
import { notFound } from '../../lib/errors.ts';
import { systemClock, type Clock } from '../../lib/clock.ts';
import type { WsProxy } from '../../proxy/ws-proxy.ts';
import type { WhipProxy } from '../../proxy/whip-relay.ts';

export const listQuery = z.object({
  filter: z
    .preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['any', 'healthy', 'unhealthy']))
    .default('any'),
  count: z
    .preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['true', 'false']))
    .optional()
    .transform((v) => v === 'true'),
});

const idParams = z.object({ id: z.string().min(1).max(64) });

export function proxyRoutes(deps: { proxy: WsProxy; whip?: WhipProxy; clock?: Clock }): FastifyPluginAsync {
  const { proxy, whip } = deps;
  const clock = deps.clock ?? systemClock;
  const unknown = (id: string) => notFound(`No proxy session ${JSON.stringify(id)}; list them with GET /admin/proxy/clients.`, 'SM_PROXY_SESSION_NOT_FOUND');

  return async (app) => {
    app.get('/proxy/clients', async (req) => {
      const q = parse(listQuery, req.query, 'query');
      const list = [...proxy.list(q.filter), ...(whip?.list(q.filter) ?? [])];
      return q.count ? { count: list.length, timestamp: clock.now() } : list;
    });

    app.get('/proxy/clients/:id', async (req) => {
      const { id } = parse(idParams, req.params, 'params');
      const s = proxy.get(id) ?? whip?.get(id);
      if (!s) throw unknown(id);
      return s;
    });

    app.delete('/proxy/clients/:id', async (req, reply) => {
      const { id } = parse(idParams, req.params, 'params');
      if (!proxy.close(id) && !whip?.close(id)) throw unknown(id);
      return reply.code(200).send();
    });

    app.delete('/proxy/clients', async () => ({ count: proxy.closeAll() + (whip?.closeAll() ?? 0), timestamp: clock.now() }));
  };
}
