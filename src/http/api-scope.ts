import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { notFound } from '../lib/errors.ts';
import { requireAdmin } from './auth.ts';

export const API_VERSIONS = ['2.0', '3.0', '3.1', '4.0'] as const;
export const API_PREFIX = '/streammanager/api/:version';

export interface ApiRoutes {
  /** Plugins mounted under /streammanager/api/:version/admin (token required). Paths start after `/admin`. */
  admin: FastifyPluginAsync[];
  /** Plugins mounted under /streammanager/api/:version (public). */
  public: FastifyPluginAsync[];
}

/** One route tree for every API version; versions differ only where a handler reads `req.params.version`. */
export async function registerApi(app: FastifyInstance, adminToken: string, routes: ApiRoutes) {
  await app.register(
    async (api) => {
      api.addHook('onRequest', async (req) => {
        const v = (req.params as { version?: string }).version;
        if (!API_VERSIONS.includes(v as (typeof API_VERSIONS)[number])) {
          throw notFound(`Unknown API version ${JSON.stringify(v)}; use one of ${API_VERSIONS.join(', ')}.`);
        }
      });
      await api.register(
        async (admin) => {
          admin.addHook('onRequest', requireAdmin(adminToken));
          for (const p of routes.admin) await admin.register(p);
        },
        { prefix: '/admin' },
      );
      for (const p of routes.public) await api.register(p);
    },
    { prefix: API_PREFIX },
  );
}
