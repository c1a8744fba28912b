import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { TestContext } from 'node:test';
import { createHttpApp } from '../../src/app.ts';
import { createLogger } from '../../src/lib/logger.ts';

export const TEST_TOKEN = 'test-admin-token';

/** An app with every HTTP rule of the real one but only the given plugins; closed after the test. */
export async function pluginApp(
  t: TestContext | undefined,
  routes: { admin?: FastifyPluginAsync[]; public?: FastifyPluginAsync[]; root?: FastifyPluginAsync[]; hot?: FastifyPluginAsync[] },
): Promise<FastifyInstance> {
  const app = await createHttpApp({
    log: createLogger('silent'),
    adminToken: TEST_TOKEN,
    routes: { admin: routes.admin ?? [], public: routes.public ?? [], root: routes.root ?? [], hot: routes.hot ?? [] },
  });
  await app.ready();
  t?.after(() => app.close());
  return app;
}

/** `/streammanager/api/4.0/admin<path>?accessToken=…` */
export const adminUrl = (path: string, version = '4.0') =>
  `/streammanager/api/${version}/admin${path}${path.includes('?') ? '&' : '?'}accessToken=${TEST_TOKEN}`;
