import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { setCorsHeaders } from '../cors.ts';
import { isApiVersion, unknownVersion } from '../api-scope.ts';
import type { ClusterNode, NodeStream } from '../../domain/types.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Config } from '../../config/schema.ts';
import { AppError, badRequest, notFound, tooManyRequests } from '../../lib/errors.ts';
import { checkName } from '../../lib/names.ts';
import { peerAddress } from '../../lib/hosts.ts';
import type { RateLimiter } from '../../broker/rate-limit.ts';
import { isResponsive, streamKey, type ClusterView } from '../../cluster/view.ts';
import type { Broker, BrokerAnswer, BrokerRequest } from '../../broker/broker.ts';
import type { BrokerAction } from '../../broker/select.ts';

export interface BrokerRouteDeps {
  /** Counts the request (route pattern, method, status): the route has no onResponse hook. */
  observe?: (route: string, method: string, status: number) => void;
  broker: Broker;
  view: ClusterView;
  clock: Clock;
  config: Config;
  regions: readonly string[];
  /** broker.rateLimitPerSecond per client address; absent: no limit. */
  limiter?: RateLimiter;
}

export const MAX_ENDPOINTS = 64;

export type Query = Record<string, string | string[] | undefined>;

/** First value of a query parameter (a repeated parameter counts by its first value). */
function first(q: Query, key: string): string | undefined {
  const v = q[key];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}

/** `true`/`false` (also 1/0, any case); absent or empty: undefined; anything else: 400 naming the parameter. */
function boolParam(q: Query, key: string): boolean | undefined {
  const v = first(q, key);
  if (v === undefined || v === '') return undefined;
  const l = v.toLowerCase();
  if (l === 'true' || l === '1') return true;
  if (l === 'false' || l === '0') return false;
  throw badRequest(`Invalid query parameter ${key}: ${JSON.stringify(v)}; use true or false.`, 'SM_VALIDATION');
}

function endpointsParam(q: Query): number | undefined {
  const v = first(q, 'endpoints');
  if (v === undefined || v === '') return undefined;
  const n = /^\d+(\.0+)?$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= MAX_ENDPOINTS)) {
    throw badRequest(`Invalid query parameter endpoints: ${JSON.stringify(v)}; use a whole number from 1 to ${MAX_ENDPOINTS}.`, 'SM_VALIDATION');
  }
  return n;
}

function actionParam(q: Query): BrokerAction {
  const v = first(q, 'action');
  if (v === 'subscribe' || v === 'broadcast') return v;
  if (v === undefined || v === '') {
    throw badRequest('Missing query parameter action: add ?action=broadcast (publisher) or ?action=subscribe (subscriber).', 'SM_VALIDATION');
  }
  const l = v.toLowerCase();
  if (l === 'broadcast' || l === 'subscribe') return l;
  throw badRequest(`Invalid query parameter action: ${JSON.stringify(v)}; use broadcast or subscribe.`, 'SM_VALIDATION');
}

/**
 * `scope…/stream` from path segments (empty ones dropped), lengths checked; `base` is the route prefix the
 * error message shows (the broker's `/event`, the provisions' `/admin/event/meta`).
 */
export function scopeAndName(segments: string[], base = '/event'): { scope: string; name: string } {
  if (segments.length < 2) {
    throw badRequest(
      segments.length
        ? `Missing scope or stream name in ${base}/${segments.join('/')}: use ${base}/{scope}/{stream}, e.g. ${base}/live/stream1.`
        : `Missing stream name: use ${base}/{scope}/{stream}, e.g. ${base}/live/stream1.`,
      'SM_VALIDATION',
    );
  }
  const name = segments[segments.length - 1];
  const scope = segments.slice(0, -1).join('/');
  checkStreamPath(scope, name);
  return { scope, name };
}

/** The one name rule (lib/names.ts) for a scope and a stream name taken from a URL. */
export function checkStreamPath(scope: string, name: string) {
  checkName('stream name', name);
  checkName('scope', scope, { slashes: true });
}

/** A node whose streams are listed: in service or draining, and still reporting. */
const listed = (n: ClusterNode | undefined, now: number): n is ClusterNode =>
  !!n && (n.state === 'inservice' || n.state === 'draining') && isResponsive(n, now);

const isSource = (n: ClusterNode, s: NodeStream) => (n.role === 'origin' || n.role === 'transcoder') && s.publishers > 0;

const ROLE_ORDER: Record<string, number> = { origin: 0, transcoder: 1, relay: 2, edge: 3 };

interface Row {
  node: ClusterNode;
  stream: NodeStream;
}

/** Every (node, stream) pair of listed nodes, in a stable order: scope, name, role, address. */
function rows(view: ClusterView, now: number): Row[] {
  const out: Row[] = [];
  for (const s of view.allStreams()) {
    const node = view.nodes.get(s.address);
    if (listed(node, now)) out.push({ node, stream: s });
  }
  return out.sort(
    (a, b) =>
      cmp(a.stream.scope, b.stream.scope) ||
      cmp(a.stream.name, b.stream.name) ||
      (ROLE_ORDER[a.node.role] ?? 9) - (ROLE_ORDER[b.node.role] ?? 9) ||
      cmp(a.node.address, b.node.address),
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `event/list` item: v3.0+ `{type, name, scope (no slash), serverAddress, region}`; v2.0 no `type`, scope with slash. */
function listItem(r: Row, v2: boolean): Record<string, unknown> {
  return v2
    ? { name: r.stream.name, scope: '/' + r.stream.scope, serverAddress: r.node.address, region: r.node.region }
    : { type: r.node.role, name: r.stream.name, scope: r.stream.scope, serverAddress: r.node.address, region: r.node.region };
}

/** Per stream: the publishing row and the subscribers summed over every node carrying the stream. */
function aggregate(all: Row[]): { row: Row; subscribers: number }[] {
  const byStream = new Map<string, { row?: Row; subscribers: number }>();
  for (const r of all) {
    const k = streamKey(r.stream.scope, r.stream.name);
    let agg = byStream.get(k);
    if (!agg) byStream.set(k, (agg = { subscribers: 0 }));
    agg.subscribers += r.stream.subscribers;
    // Rows come origin-first, so the first source is the origin when there is one.
    if (!agg.row && isSource(r.node, r.stream)) agg.row = r;
  }
  const out: { row: Row; subscribers: number }[] = [];
  for (const a of byStream.values()) if (a.row) out.push({ row: a.row, subscribers: a.subscribers });
  return out;
}

/**
 * The broker read (`GET /event/{scope…}/{stream}?action=…`) after the path is split: validates the query,
 * decides, records the hand-out. Shared by the Fastify route and the raw fast path (broker-fast-path.ts).
 * Throws AppError for the caller's mistakes and refusals.
 */
export function brokerReader(deps: BrokerRouteDeps): (scope: string, name: string, q: Query, client?: string) => BrokerAnswer | BrokerAnswer[] {
  const { broker } = deps;
  const defaultRegion = deps.config.location.region || undefined;
  const defaultStrict = deps.config.location.strict;

  const limiter = deps.limiter;
  return function read(scope: string, name: string, q: Query, client?: string): BrokerAnswer | BrokerAnswer[] {
    // Before anything else: a refused request costs nothing and counts no hand-out.
    if (limiter && client !== undefined) {
      const wait = limiter.take(client);
      if (wait) throw tooManyRequests(`Too many broker requests from ${client}: at most ${deps.config.broker.rateLimitPerSecond} per second (broker.rateLimitPerSecond); retry in ${wait} s.`, wait);
    }
    checkStreamPath(scope, name);
    const action = actionParam(q);
    const queryRegion = first(q, 'region') || undefined;
    const strictParam = boolParam(q, 'strict');
    const strict = strictParam ?? defaultStrict;
    const endpoints = endpointsParam(q);
    const transcode = boolParam(q, 'transcode');
    if (queryRegion !== undefined && strict && !broker.knowsRegion(queryRegion)) {
      throw badRequest(
        `Unknown region ${JSON.stringify(queryRegion)} with strict=true; known regions: ${deps.regions.join(', ') || '(none configured)'}.`,
        'SM_VALIDATION',
      );
    }
    const req: BrokerRequest = { action, scope, name, region: queryRegion ?? defaultRegion, strict, endpoints, transcode };
    const d = broker.decide(req);
    if (!d.ok) throw new AppError(d.status, d.message, `SM_BROKER_${d.code.toUpperCase().replace(/-/g, '_')}`);
    return endpoints !== undefined && endpoints > 1 ? d.answers : d.answers[0];
  };
}

/**
 * Public broker and stream routes (classic-api §3), mounted under `/streammanager/api/:version`:
 * - `GET /event/{scope…}/{stream}?action=broadcast|subscribe[&region][&strict][&endpoints][&transcode]`
 * - `GET /event/list`, `GET /event/list/stats[?aggregate=false]`, `GET /event/{scope…}/{stream}/stats`
 * - `GET /event/{scope…}/{room}/join` → 404 (conferences are not supported)
 * Answers come from the in-memory view only. The broker read is the hot path: hand-written checks, no
 * per-request logging, no allocation beyond the answer.
 */
export function brokerRoutes(deps: BrokerRouteDeps): FastifyPluginAsync {
  const { view, clock } = deps;
  const read = brokerReader(deps);

  function list(version: string): unknown {
    const v2 = version === '2.0';
    return rows(view, clock.now()).map((r) => listItem(r, v2));
  }

  function listStats(version: string, q: Query): unknown {
    const v2 = version === '2.0';
    const agg = boolParam(q, 'aggregate') ?? true;
    const all = rows(view, clock.now());
    if (!agg) {
      return all.map((r) => ({ ...listItem(r, v2), currentSubscribers: r.stream.subscribers, startTime: r.stream.startTime }));
    }
    return aggregate(all).map((a) => ({ ...listItem(a.row, v2), currentSubscribers: a.subscribers, startTime: a.row.stream.startTime }));
  }

  function streamStats(segments: string[]): unknown {
    const { scope, name } = scopeAndName(segments);
    const now = clock.now();
    const carrying: Row[] = [];
    for (const node of view.nodesWithStream(scope, name)) {
      const stream = view.stream(node.address, scope, name);
      if (stream && listed(node, now)) carrying.push({ node, stream });
    }
    carrying.sort((a, b) => (ROLE_ORDER[a.node.role] ?? 9) - (ROLE_ORDER[b.node.role] ?? 9) || cmp(a.node.address, b.node.address));
    const [a] = aggregate(carrying);
    if (!a) throw notFound(`Stream ${scope}/${name} is not being broadcast.`, 'SM_NOT_LIVE');
    return {
      name,
      scope: '/' + scope,
      serverAddress: a.row.node.address,
      region: a.row.node.region,
      currentSubscribers: a.subscribers,
      startTime: a.row.stream.startTime,
    };
  }

  function route(req: FastifyRequest): unknown {
    const params = req.params as { version: string; '*': string };
    const raw = params['*'];
    const q = req.query as Query;
    // Plain broker reads are answered ahead of Fastify (broker-fast-path.ts); what reaches here is rarer.
    const segments = raw.split('/').filter(Boolean);
    const n = segments.length;
    const last = segments[n - 1];
    if (n === 1 && last === 'list') return list(params.version);
    if (n === 2 && segments[0] === 'list' && last === 'stats') return listStats(params.version, q);
    if (n >= 3 && last === 'stats') return streamStats(segments.slice(0, -1));
    if (n >= 3 && last === 'join') {
      throw notFound('Conference join is not supported by this stream manager: broadcast and subscribe with /event/{scope}/{stream}?action=…', 'SM_NO_CONFERENCE');
    }
    const { scope, name } = scopeAndName(segments);
    return read(scope, name, q, peerAddress(req.socket.remoteAddress));
  }

  // A HOT route (see AppRoutes.hot in src/app.ts): mounted with its full path and no hooks, it applies the
  // API rules itself — version check, CORS headers, request count. A synchronous handler that RETURNS the
  // payload (Fastify sends it): no promise per request.
  return async (app) => {
    app.get(ROUTE, (req: FastifyRequest, reply: FastifyReply): unknown => {
      setCorsHeaders(reply);
      const version = (req.params as { version: string }).version;
      try {
        if (!isApiVersion(version)) throw unknownVersion(version);
        const answer = route(req);
        deps.observe?.(ROUTE, 'GET', 200);
        return answer;
      } catch (err) {
        deps.observe?.(ROUTE, 'GET', (err as { statusCode?: number }).statusCode ?? 500);
        throw err;
      }
    });
  };
}

export const ROUTE = '/streammanager/api/:version/event/*';
