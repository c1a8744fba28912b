import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { bearerOf, safeEqual } from '../auth.ts';
import { unauthorized } from '../../lib/errors.ts';
import { systemClock, type Clock } from '../../lib/clock.ts';
import type { Metrics } from '../../metrics/metrics.ts';

/** What /ready reports; `store` is 'ok' or a short reason (never a connection string or password). */
export interface Readiness {
  ok: boolean;
  store: 'ok' | string;
  /** This instance holds the autoscaler lease. */
  leader: boolean;
  autoscaler: unknown;
}

export interface OpsRoutesDeps {
  metrics: Pick<Metrics, 'metrics' | 'contentType'>;
  /** metrics.token; empty: /metrics is open (scrapers usually sit on a private network). */
  token: string;
  ready: () => Promise<Readiness>;
  /** A readiness check slower than this answers 503 (load balancers give up on slow probes). Default 3000 ms. */
  readyTimeoutMs?: number;
  clock?: Clock;
}

/** `GET /metrics` and `GET /ready` (design §9). Root plugin. `GET /` lives in app.ts. */
export function opsRoutes(deps: OpsRoutesDeps): FastifyPluginAsync {
  const clock = deps.clock ?? systemClock;
  const timeoutMs = deps.readyTimeoutMs ?? 3000;

  return async (app) => {
    app.get('/metrics', async (req, reply) => {
      if (deps.token) {
        const given = bearerOf(req);
        if (!given) throw unauthorized('Missing token: /metrics needs an Authorization: Bearer <metrics.token> header.');
        if (!safeEqual(given, deps.token)) throw unauthorized('Invalid metrics token.');
      }
      const text = await deps.metrics.metrics();
      return reply.header('cache-control', 'no-store').type(deps.metrics.contentType).send(text);
    });

    app.get('/ready', async (_req, reply) => {
      const r = await withTimeout(deps.ready(), timeoutMs, clock).catch(
        (err: Error): Readiness => ({ ok: false, store: err instanceof ReadyTimeout ? 'timeout' : 'error', leader: false, autoscaler: null }),
      );
      reply.header('cache-control', 'no-store').type('application/json');
      // Public: which dependency, never its error text (the autoscaler's lastError can name user@host/db).
      // The details are in the log and on the admin-only GET /admin/debug/status.
      const details = { store: r.store, leader: r.leader };
      if (r.ok) return reply.code(200).send({ status: 'ready', ...details, timestamp: clock.now() });
      return reply.code(503).send({ errorMessage: notReadyMessage(r.store), timestamp: clock.now(), ...details });
    });
  };
}

function notReadyMessage(store: string): string {
  if (store === 'ok') return 'Not ready; an administrator sees why at GET /streammanager/api/4.0/admin/debug/status.';
  if (store === 'timeout') return 'Not ready: the readiness check did not finish in time; the cluster database may be slow or unreachable.';
  return `Not ready: the cluster database does not answer (${store}); check the config.db* settings and that the database is up (the manager's log has the details).`;
}

class ReadyTimeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, clock: Clock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = clock.setTimeout(() => reject(new ReadyTimeout()), ms);
    p.then(
      (v) => (clock.clearTimeout(t), resolve(v)),
      (e) => (clock.clearTimeout(t), reject(e)),
    );
  });
}

/**
 * Builds the `ready` check from the runtime: the store answers a ping, and the lease says whether this
 * instance runs the autoscaler. The ping error becomes a short code, never its message (it may name hosts
 * and users; the log has the details).
 */
export function readinessCheck(d: {
  store: { ping(): Promise<void> };
  lease: { readonly held: boolean };
  autoscaler?: () => unknown;
  onError?: (err: unknown) => void;
}): () => Promise<Readiness> {
  return async () => {
    let store = 'ok';
    try {
      await d.store.ping();
    } catch (err) {
      d.onError?.(err);
      const code = (err as { code?: unknown }).code;
      store = typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? `unavailable: ${code}` : 'unavailable';
    }
    return { ok: store === 'ok', store, leader: d.lease.held, autoscaler: d.autoscaler?.() ?? null };
  };
}

/**
 * onResponse hook counting requests by route pattern (`/streammanager/api/:version/admin/nodegroup/:group`);
 * unmatched URLs count as `unmatched`, so scanners cannot blow up the label set.
 */
export function observeRequests(metrics: Pick<Metrics, 'observeRequest'>) {
  // Callback style: no promise per request on the hot path.
  return (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    metrics.observeRequest(req.routeOptions.url, req.method, reply.statusCode);
    done();
  };
}
