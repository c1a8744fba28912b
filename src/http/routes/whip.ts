/**
 * WHIP publish and WHEP playback through the manager (design §8), mounted at the root:
 *   POST    /as/v1/proxy/whip/{app…}/{stream}[?region=&strict=&…]   SDP offer → origin (as action=broadcast)
 *   POST    /as/v1/proxy/whep/{app…}/{stream}[?region=&strict=&…]   SDP offer → edge (as action=subscribe)
 *   PATCH   /as/v1/proxy/session/{id}                               trickle ICE / ICE restart (If-Match)
 *   DELETE  /as/v1/proxy/session/{id}                               ends the session on the node
 *   OPTIONS /as/v1/proxy/…                                          CORS preflight; on a session without
 *                                                                  a preflight header, the node's answer
 * Bodies are read as text, at most 64 KB (413 beyond), and checked before the broker or a node is asked.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../lib/errors.ts';
import { parse } from '../validate.ts';
import type { Query } from './broker.ts';
import type { BrokerAnswer } from '../../broker/broker.ts';
import { clientMeta } from '../../proxy/upstream-url.ts';
import type { ClientRequest, RelayAnswer, WhipProxy } from '../../proxy/whip-relay.ts';
import {
  CORS_HEADERS,
  MAX_SDP_BYTES,
  PREFLIGHT_HEADERS,
  SESSION_BASE,
  WHIP_BASE,
  allowHeaders,
  brokerQuery,
  checkOffer,
  checkPatch,
  nodeQuery,
  parseStreamPath,
  type WhipKind,
} from '../../proxy/whip-request.ts';

export interface WhipRouteDeps {
  whip: WhipProxy;
  /** The broker read of the classic route (validation of region/strict, decision, hand-out). */
  read: (scope: string, name: string, q: Query) => BrokerAnswer | BrokerAnswer[];
}

export const sessionParams = z.object({ id: z.string().regex(/^[0-9a-f]{32}$/, 'a session id is 32 hex characters') });

const ACTION: Record<WhipKind, 'broadcast' | 'subscribe'> = { whip: 'broadcast', whep: 'subscribe' };

/** Route descriptions for the OpenAPI document (read from `config.openapi` when routes are registered). */
const DOC = {
  whip: { summary: 'WHIP publish: the SDP offer (application/sdp) to the origin the broker picks; 201 with the SDP answer and a manager session Location', status: 201, produces: 'application/sdp' },
  whep: { summary: 'WHEP playback: the SDP offer (application/sdp) to the edge the broker picks; 404 when not live; 201 with the SDP answer and a manager session Location', status: 201, produces: 'application/sdp' },
  patch: { summary: 'Trickle ICE or ICE restart (application/trickle-ice-sdpfrag, If-Match) on the node session behind a WHIP/WHEP session URL', status: 204 },
  delete: { summary: 'End a WHIP/WHEP session on its node' },
} as const;

const refusal = (r: { status: number; message: string }) => new AppError(r.status, r.message, r.status === 415 ? 'SM_UNSUPPORTED_MEDIA_TYPE' : 'SM_VALIDATION');

function client(req: FastifyRequest): ClientRequest {
  const body = req.body;
  return {
    headers: req.headers,
    meta: clientMeta(req.headers, req.raw.socket),
    ...(typeof body === 'string' ? { body } : {}),
  };
}

function relayed(reply: FastifyReply, a: RelayAnswer) {
  reply.code(a.status).headers(a.headers);
  return a.body.length ? reply.send(a.body) : reply.send();
}

export function whipRoutes(deps: WhipRouteDeps): FastifyPluginAsync {
  const { whip, read } = deps;

  return async (app) => {
    // Offers and ICE fragments are text of their own media types: read any type as text here (this
    // plugin's scope only) and let the handlers say which types they take.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_SDP_BYTES }, (_req, body, done) => done(null, body));
    app.addHook('onRequest', (_req, reply, done) => {
      reply.headers(CORS_HEADERS);
      done();
    });

    for (const kind of ['whip', 'whep'] as const) {
      const prefix = `${WHIP_BASE}/${kind}/`;
      app.post(`${prefix}*`, { bodyLimit: MAX_SDP_BYTES, config: { openapi: DOC[kind] } }, async (req, reply) => {
        const q = req.url.indexOf('?');
        const path = parseStreamPath((q < 0 ? req.url : req.url.slice(0, q)).slice(prefix.length), kind);
        if (!path.ok) throw refusal(path);
        const bad = checkOffer(req.headers['content-type'], req.body as string | undefined);
        if (bad) throw refusal(bad);
        const { app: scope, stream } = path.value;
        const answer = await whip.offer({
          ...client(req),
          kind,
          app: scope,
          stream,
          query: q < 0 ? '' : nodeQuery(req.url.slice(q)),
          choose: () => {
            const a = read(scope, stream, { ...brokerQuery(req.query as Query), action: ACTION[kind] });
            return (Array.isArray(a) ? a[0] : a).serverAddress;
          },
        });
        return relayed(reply, answer);
      });
    }

    app.patch(`${SESSION_BASE}/:id`, { bodyLimit: MAX_SDP_BYTES, config: { openapi: DOC.patch } }, async (req, reply) => {
      const { id } = parse(sessionParams, req.params, 'params');
      const bad = checkPatch(req.headers['content-type'], req.body as string | undefined);
      if (bad) throw refusal(bad);
      return relayed(reply, await whip.session('PATCH', id, client(req)));
    });

    app.delete(`${SESSION_BASE}/:id`, { config: { openapi: DOC.delete } }, async (req, reply) => {
      const { id } = parse(sessionParams, req.params, 'params');
      return relayed(reply, await whip.session('DELETE', id, client(req)));
    });

    app.options(`${WHIP_BASE}/*`, async (req, reply) => {
      const preflight = req.headers['access-control-request-method'] !== undefined;
      const path = req.url.split('?')[0];
      if (!preflight && path.startsWith(SESSION_BASE + '/')) {
        const { id } = parse(sessionParams, { id: path.slice(SESSION_BASE.length + 1) }, 'params');
        return relayed(reply, await whip.session('OPTIONS', id, client(req)));
      }
      reply.headers(PREFLIGHT_HEADERS).header('access-control-allow-headers', allowHeaders(req.headers['access-control-request-headers'] as string | undefined));
      if (!path.startsWith(SESSION_BASE + '/')) reply.header('accept-post', 'application/sdp');
      return reply.code(204).send();
    });
  };
}
