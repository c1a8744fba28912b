import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../../deps.ts';
import type { ApiRoutes } from '../api-scope.ts';

/** The URL map: which feature plugin is mounted where. Wiring only; handlers live in their own files. */
export function routePlugins(deps: AppDeps): ApiRoutes & { root: FastifyPluginAsync[] } {
  const admin: FastifyPluginAsync[] = [
    async (app) => {
      app.get('/debug/cloudcontroller', async (_req, reply) => reply.type('text/plain; charset=utf-8').send(deps.cloud.name));
    },
  ];
  return { root: [], admin, public: [] };
}
