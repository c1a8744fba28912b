import http from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { setCorsHeaders } from './http/cors.ts';
import type { FastPath } from './http/broker-fast-path.ts';
import type { AppDeps } from './deps.ts';
import { installErrorHandling } from './http/error-handler.ts';
import { registerApi, type ApiRoutes } from './http/api-scope.ts';
import { parseLenientJson } from './lib/lenient-json.ts';
import { badRequest } from './lib/errors.ts';
import { routePlugins } from './http/routes/index.ts';
import type { Logger } from './lib/logger.ts';
import type { Metrics } from './metrics/metrics.ts';
import { observeRequests } from './http/routes/ops.ts';
import { openApiRoutes, recordRoutes } from './http/openapi.ts';

export const BODY_LIMIT = 2 * 1024 * 1024;

/**
 * Builds the Fastify app from ready dependencies. No listening and no I/O happen here, so tests
 * use app.inject() or listen on port 0 themselves.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { requestTimeout, headersTimeout, keepAliveTimeout } = deps.config.server;
  const app = await createHttpApp({
    log: deps.log,
    adminToken: deps.adminToken,
    routes: routePlugins(deps),
    metrics: deps.metrics,
    version: deps.build.version,
    timeouts: { requestTimeout, headersTimeout, keepAliveTimeout },
  });
  // Fastify does not track upgraded sockets: close proxied sessions first or close() waits on them.
  app.addHook('preClose', async () => deps.proxy.close());
  return app;
}

export interface AppRoutes extends ApiRoutes {
  /** Mounted at `/` (cloudwatch, metrics, readiness). */
  root: FastifyPluginAsync[];
  /**
   * Hot paths (the broker read) mounted at `/` with full paths and NO hooks: they apply the API rules
   * themselves with `applyApiRules`, because every hook costs throughput on the busiest route.
   */
  hot?: FastifyPluginAsync[];
  /** Raw handlers tried before Fastify on every request (the broker read); see broker-fast-path.ts. */
  fast?: FastPath[];
}

export interface HttpAppOptions {
  log: Logger;
  adminToken: string;
  routes: AppRoutes;
  /** Counts requests by route pattern. */
  metrics?: Pick<Metrics, 'observeRequest'>;
  /** Against slow headers and slow bodies (server.* keys; ms). */
  timeouts?: { requestTimeout: number; headersTimeout: number; keepAliveTimeout: number };
  /** Version in the OpenAPI document. */
  version?: string;
}

/**
 * The HTTP server Fastify would create, with the fast paths tried first; the same server settings
 * Fastify applies to its own (lib/server.js).
 */
function withFastPaths(fast: FastPath[]) {
  return (handler: http.RequestListener, opts: { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number }) => {
    const server = http.createServer((req, res) => {
      for (const f of fast) if (f(req, res)) return;
      handler(req, res);
    });
    server.keepAliveTimeout = opts.keepAliveTimeout ?? 72_000;
    server.requestTimeout = opts.requestTimeout ?? 0;
    server.setTimeout(opts.connectionTimeout ?? 0);
    return server;
  };
}

/** The HTTP shell with every cross-cutting rule; tests of one feature mount just their plugin in it. */
export async function createHttpApp({ log, adminToken, routes, metrics, version, timeouts }: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(timeouts ? { requestTimeout: timeouts.requestTimeout, keepAliveTimeout: timeouts.keepAliveTimeout } : {}),
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 1024 },
    // Below debug nothing logs per request, so requests share the app logger instead of a child each.
    childLoggerFactory: log.isLevelEnabled('debug') ? undefined : (logger) => logger,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...(routes.fast?.length ? { serverFactory: withFastPaths(routes.fast) } : {}),
  });
  // Node's http server has headersTimeout, Fastify has no option for it; it must not exceed requestTimeout.
  if (timeouts) app.server.headersTimeout = timeouts.requestTimeout > 0 ? Math.min(timeouts.headersTimeout, timeouts.requestTimeout) : timeouts.headersTimeout;
  const registered = recordRoutes(app);

  // Unmatched URLs never reach the hooked scope below: count them here.
  installErrorHandling(app, { onNotFound: metrics ? (method) => metrics.observeRequest(undefined, method, 404) : undefined });

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

  // CORS preflight for every API path, including ones with no route of their own.
  app.options('/streammanager/api/*', (req, reply) => {
    setCorsHeaders(reply);
    reply
      .header('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS')
      .header('Access-Control-Allow-Headers', (req.headers['access-control-request-headers'] as string) || 'Content-Type, Authorization')
      .header('Access-Control-Max-Age', '86400')
      .code(204)
      .send();
  });

  for (const p of routes.hot ?? []) await app.register(p);

  await app.register(async (hooked) => {
    // Callback-style hooks: no promise per request.
    if (metrics) hooked.addHook('onResponse', observeRequests(metrics));
    // Request lines only at debug: per-request logs on hot paths would dominate benchmarks (design §9).
    if (log.isLevelEnabled('debug')) {
      hooked.addHook('onResponse', (req, reply, done) => {
        req.log.debug({ req, statusCode: reply.statusCode, ms: reply.elapsedTime }, 'request');
        done();
      });
    }
    hooked.addHook('onRequest', (req, reply, done) => {
      if (req.url.startsWith('/streammanager/api/')) setCorsHeaders(reply);
      done();
    });
    hooked.get('/', async () => ({ status: 'ok', service: 'streammanager' }));
    for (const p of routes.root) await hooked.register(p);
    await hooked.register(openApiRoutes(registered, { version: version ?? '0.0.0' }));
    await registerApi(hooked, adminToken, routes);
  });
  return app;
}
