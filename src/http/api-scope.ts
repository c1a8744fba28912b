import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { notFound } from '../lib/errors.ts';
import { requireAdmin } from './auth.ts';

export const API_VERSIONS = ['2.0', '3.0', '3.1', '4.0'] as const;
export const API_PREFIX = '/streammanager/api/:version';

export const isApiVersion = (v: string | undefined) => v === '4.0' || v === '3.1' || v === '3.0' || v === '2.0';
export const unknownVersion = (v: string | undefined) =>
  notFound(`Unknown API version ${JSON.stringify(v)}; use one of ${API_VERSIONS.join(', ')}.`);

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
      api.addHook('onRequest', (req, _reply, done) => {
        const v = (req.params as { version?: string }).version;
        done(isApiVersion(v) ? undefined : unknownVersion(v));
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
