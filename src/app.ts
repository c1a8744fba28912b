import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.ts';
import { installErrorHandling } from './http/error-handler.ts';
import { registerApi } from './http/api-scope.ts';
import { parseLenientJson } from './lib/lenient-json.ts';
import { badRequest } from './lib/errors.ts';
import { routePlugins } from './http/routes/index.ts';
import type { ApiRoutes } from './http/api-scope.ts';
import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Logger } from './lib/logger.ts';
import type { Metrics } from './metrics/metrics.ts';
import { observeRequests } from './http/routes/ops.ts';

export const BODY_LIMIT = 2 * 1024 * 1024;

/**
 * Builds the Fastify app from ready dependencies. No listening and no I/O happen here, so tests
 * use app.inject() or listen on port 0 themselves.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = await createHttpApp({ log: deps.log, adminToken: deps.adminToken, routes: routePlugins(deps), metrics: deps.metrics });
  // Fastify does not track upgraded sockets: close proxied sessions first or close() waits on them.
  app.addHook('preClose', async () => deps.proxy.close());
  return app;
}

export interface HttpAppOptions {
  log: Logger;
  adminToken: string;
  /** `root` plugins are mounted at `/` (cloudwatch, metrics, proxy); the others under the API prefix. */
  routes: ApiRoutes & { root: FastifyPluginAsync[] };
  /** Counts requests by route pattern. */
  metrics?: Pick<Metrics, 'observeRequest'>;
}

/** The HTTP shell with every cross-cutting rule; tests of one feature mount just their plugin in it. */
export async function createHttpApp({ log, adminToken, routes, metrics }: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 1024 },
    // The broker answers thousands of requests per second; keep per-request work minimal.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  installErrorHandling(app);
  if (metrics) app.addHook('onResponse', observeRequests(metrics));

  // Strict JSON first, then the lenient reader for bodies with unquoted keys/values (deployment scripts).
  // Any content type is read as text so a body sent without (or with a wrong) content type still parses.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (!text) return done(null, undefined);
    try {
      done(null, parseLenientJson(text));
    } catch (e) {
      done(badRequest(`The request body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });

  // Request lines only at debug: per-request logs on hot paths would dominate benchmarks (design §9).
  app.addHook('onResponse', async (req, reply) => {
    if ((req.log as unknown as Logger).isLevelEnabled('debug')) req.log.debug({ req, statusCode: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  // CORS for browser pages on other origins (E18), with preflight.
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/streammanager/api/')) return;
    reply.header('Access-Control-Allow-Origin', '*');
    reply.header('Access-Control-Expose-Headers', 'Access-Control-Allow-Origin');
    if (req.method === 'OPTIONS') {
      reply
        .header('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS')
        .header('Access-Control-Allow-Headers', (req.headers['access-control-request-headers'] as string) || 'Content-Type, Authorization')
        .header('Access-Control-Max-Age', '86400')
        .code(204)
        .send();
    }
  });

  app.get('/', async () => ({ status: 'ok', service: 'streammanager' }));

  for (const p of routes.root) await app.register(p);
  await registerApi(app, adminToken, routes);
  return app;
}
