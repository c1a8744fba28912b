import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { StreamProvision } from '../../domain/types.ts';
import type { ClusterStore } from '../../store/cluster-store.ts';
import type { Clock } from '../../lib/clock.ts';
import { notFound } from '../../lib/errors.ts';
import { parse } from '../validate.ts';
import { acceptsClients, type ClusterView } from '../../cluster/view.ts';
import type { ProvisionCache } from '../../broker/provision-cache.ts';
import { scopeAndName } from './broker.ts';
import { NAME_MAX, nameSchema } from '../../lib/names.ts';

export interface StreamProvisionRouteDeps {
  provisions: ProvisionCache;
  view: ClusterView;
  /** For the stream purge (`DELETE /event`): stream rows are removed from the store too. */
  store: Pick<ClusterStore, 'purgeStreams'>;
  clock: Clock;
}

/** Numbers may arrive as strings (`"3"`) from deployment scripts; they are stored as numbers. */
const numberish = z.preprocess(
  (v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v),
  z.number({ invalid_type_error: 'must be a number' }),
);

const variantSchema = z
  .object({
    name: nameSchema,
    level: numberish,
    properties: z.record(z.unknown()).optional(),
  })
  .passthrough();

/** Loose on purpose: `meta` must be an object; `stream` and `qos` are checked when present; custom keys are kept. */
export const provisionBodySchema = z.object(
  {
    meta: z
      .object(
        {
          stream: z.array(variantSchema, { invalid_type_error: 'must be an array of {name, level, properties}' }).optional(),
          qos: numberish.optional(),
        },
        { required_error: 'is required: send {"meta": {...}}', invalid_type_error: 'must be an object' },
      )
      .passthrough(),
  },
  { required_error: 'is required: send {"meta": {...}}', invalid_type_error: 'must be a JSON object {"meta": {...}}' },
);

const flag = z.preprocess(
  (v) => (typeof v === 'string' ? v.toLowerCase() : v),
  z.enum(['true', 'false', '1', '0', ''], { errorMap: () => ({ message: 'use true or false' }) }).optional(),
);
export const purgeQuerySchema = z.object({ includeActive: flag }).passthrough();
export const getQuerySchema = z.object({ key: z.string().max(NAME_MAX).optional() }).passthrough();

/** Provision address `scope…/stream` from the wildcard (the last segment is the stream name). */
const target = (req: FastifyRequest) => scopeAndName(((req.params as { '*': string })['*'] ?? '').split('/').filter(Boolean), '/admin/event/meta');

/** The classic envelope `{name, scope (no slash), data: {meta}, updated}`. */
const envelope = (p: StreamProvision, data: Record<string, unknown> = { meta: p.meta }) => ({
  name: p.name,
  scope: p.scope,
  data,
  updated: p.updated,
});

/**
 * Stream provisions (classic-api §2.6 M1/M2) and the stream purge (E1), mounted under
 * `/streammanager/api/:version/admin`.
 */
export function streamProvisionRoutes(deps: StreamProvisionRouteDeps): FastifyPluginAsync {
  const { provisions, view, store, clock } = deps;
  return async (app) => {
    app.post('/event/meta/*', async (req, reply) => {
      const { scope, name } = target(req);
      const body = parse(provisionBodySchema, req.body, 'body');
      const p = await provisions.create(scope, name, body.meta);
      return reply.code(201).send(envelope(p));
    });

    app.put('/event/meta/*', async (req) => {
      const { scope, name } = target(req);
      const body = parse(provisionBodySchema, req.body, 'body');
      const p = await provisions.update(scope, name, body.meta);
      if (!p) throw notFound(`No provision for ${scope}/${name}; create it with POST first.`, 'SM_NO_PROVISION');
      return envelope(p);
    });

    // Sorted here so both stores (SQLite, MySQL collations) give the same order.
    const list = async () => (await provisions.list()).map((p) => `guid: ${p.scope}/${p.name}`).sort();
    app.get('/event/meta', list);

    app.get('/event/meta/*', async (req) => {
      // `/event/meta/` (trailing slash) is the list, as documented.
      if (!((req.params as { '*': string })['*'] ?? '').replace(/\//g, '')) return list();
      const { scope, name } = target(req);
      const { key } = parse(getQuerySchema, req.query, 'query');
      const p = await provisions.get(scope, name);
      if (!p) throw notFound(`No provision for ${scope}/${name}.`, 'SM_NO_PROVISION');
      if (key !== undefined && key !== '') return envelope(p, key in p.meta ? { [key]: p.meta[key] } : {});
      return envelope(p);
    });

    app.delete('/event/meta/*', async (req) => {
      const { scope, name } = target(req);
      const p = await provisions.delete(scope, name);
      if (!p) throw notFound(`No provision for ${scope}/${name}.`, 'SM_NO_PROVISION');
      return envelope(p);
    });

    // E1: purge stream entries. Default: only stale entries (their node no longer accepts clients);
    // includeActive=true: every entry (live streams reappear with their node's next report).
    const purge = async (req: FastifyRequest) => {
      const q = parse(purgeQuerySchema, req.query, 'query');
      const includeActive = q.includeActive === 'true' || q.includeActive === '1';
      const now = clock.now();
      const keep = new Set<string>();
      if (!includeActive) for (const n of view.nodes.values()) if (acceptsClients(n, now)) keep.add(n.address);
      await store.purgeStreams(includeActive ? undefined : [...keep]);
      let count = 0;
      for (const s of [...view.allStreams()]) {
        if (keep.has(s.address)) continue;
        if (view.removeStream(s.address, s.scope, s.name)) count++;
      }
      return { count, timestamp: now };
    };
    app.delete('/event', purge);
    app.delete('/event/', purge);
  };
}
