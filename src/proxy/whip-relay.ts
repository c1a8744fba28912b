/**
 * WHIP/WHEP relay (design §8): the SDP exchange between a client and a node, through the manager, over
 * HTTP with undici. The offer goes to the node the broker chose, the answer comes back with the node's
 * status and headers, and the node's session resource is handed out as a manager URL
 * (`/as/v1/proxy/session/{id}`) whose PATCH, DELETE and OPTIONS reach that node's session. Media never
 * passes through the manager.
 *
 * Never an open relay: every request is checked before anything is dialled, and the address dialled is
 * the resolver's (an inservice or draining node of this manager), never one a client or a node's
 * Location named.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { AppError } from '../lib/errors.ts';
import type { ClientMeta } from './upstream-url.ts';
import type { ResolveTarget } from './ws-proxy.ts';
import {
  MAX_ANSWER_BYTES,
  SESSION_BASE,
  answerHeaders,
  endpointUrl,
  nodeHeaders,
  origin,
  resourcePath,
  type WhipKind,
} from './whip-request.ts';
import { WhipSessions, newSessionId, sessionJson, type WhipSessionJson } from './whip-sessions.ts';
import type { SessionFilter } from './session-registry.ts';

export type { WhipSessionJson };

export interface WhipConfig {
  enabled: boolean;
  /** Forget a session after this long without a request on it (ms, 0 = never). */
  whipSessionTtl: number;
  /** How long a node may take to answer (ms). */
  handshakeTimeout: number;
  /** Sessions held at once; further offers get 503. */
  maxSessions: number;
  /** Sessions one client address may hold; further offers get 429 (absent = no per-client cap). */
  maxSessionsPerClient?: number;
}

export interface WhipDeps {
  config: WhipConfig;
  log: Logger;
  clock: Clock;
  resolveTarget: ResolveTarget;
  /** undici dispatcher for the node requests (default: a keep-alive pool of this relay's own). */
  dispatcher?: Dispatcher;
}

/** What the client sent, as far as the node is concerned. */
export interface ClientRequest {
  headers: Record<string, string | string[] | undefined>;
  meta: ClientMeta;
  body?: string;
}

/** What the client gets back: the node's status, headers and body (Location rewritten). */
export interface RelayAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface OfferRequest extends ClientRequest {
  kind: WhipKind;
  app: string;
  stream: string;
  /** The node's query string (`?…` or empty). */
  query: string;
  /** The broker decision: the address of the node to use. Called after the relay's own checks pass. */
  choose: () => string;
}

export interface WhipProxy {
  offer(o: OfferRequest): Promise<RelayAnswer>;
  /** PATCH, DELETE or OPTIONS on a manager session URL. */
  session(method: 'PATCH' | 'DELETE' | 'OPTIONS', id: string, c: ClientRequest): Promise<RelayAnswer>;
  /** Forgets every session on this node (it was terminated); returns how many. */
  closeSessionsOf(host: string): number;
  list(filter?: SessionFilter): WhipSessionJson[];
  get(id: string): WhipSessionJson | undefined;
  /** Ends one session (a DELETE goes to the node); false if unknown. */
  close(id: string): boolean;
  closeAll(): number;
  stats(): { sessions: number };
  shutdown(): Promise<void>;
}

const SESSION_GONE = 'SM_PROXY_SESSION_NOT_FOUND';

export function createWhipProxy(deps: WhipDeps): WhipProxy {
  const { config: cfg, clock, resolveTarget } = deps;
  const log = deps.log.child({ component: 'whip-proxy' });
  const own = deps.dispatcher ? undefined : new Agent({ keepAliveTimeout: 10_000, connections: 256 });
  const dispatcher = deps.dispatcher ?? own!;
  const sessions = new WhipSessions(cfg.whipSessionTtl);
  const debug = log.isLevelEnabled('debug');

  const target = (host: string) => {
    try {
      return resolveTarget(host);
    } catch (err) {
      log.warn({ err }, 'node resolver failed');
      throw new AppError(503, 'The node list is unavailable; retry shortly.', 'SM_UNAVAILABLE');
    }
  };

  async function send(url: string, method: string, c: ClientRequest): Promise<RelayAnswer & { location?: string | string[] }> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers: nodeHeaders(c.headers, c.meta),
        ...(c.body !== undefined ? { body: c.body } : {}),
        dispatcher,
        headersTimeout: cfg.handshakeTimeout,
        bodyTimeout: cfg.handshakeTimeout,
      });
    } catch (err) {
      throw nodeFailure(err, cfg.handshakeTimeout);
    }
    let body: Buffer;
    try {
      body = await readCapped(res.body, MAX_ANSWER_BYTES);
    } catch (err) {
      throw err instanceof AppError ? err : nodeFailure(err, cfg.handshakeTimeout);
    }
    return { status: res.statusCode, headers: answerHeaders(res.headers), body, location: res.headers.location };
  }

  async function offer(o: OfferRequest): Promise<RelayAnswer> {
    if (!cfg.enabled) throw new AppError(404, 'The proxy is disabled (proxy.enabled=false); use the broker and the node directly.', 'SM_PROXY_DISABLED');
    const now = clock.now();
    if (sessions.size(now) >= cfg.maxSessions) {
      throw new AppError(503, `Too many WHIP/WHEP sessions (proxy.maxSessions=${cfg.maxSessions}); retry shortly.`, 'SM_PROXY_FULL');
    }
    const perClient = cfg.maxSessionsPerClient;
    if (perClient !== undefined && perClient > 0 && sessions.ofClient(o.meta.address, now) >= perClient) {
      throw new AppError(429, `This client holds ${perClient} WHIP/WHEP sessions already (proxy.maxSessionsPerClient); end one with DELETE first.`, 'SM_PROXY_CLIENT_LIMIT');
    }
    const address = o.choose();
    const t = target(address);
    if (!t) throw new AppError(503, `Node ${address} is not available any more; retry.`, 'SM_UNAVAILABLE');
    const url = endpointUrl(t, o.kind, o.app, o.stream, o.query);
    const answer = await send(url, 'POST', o);
    const resource = answer.status >= 200 && answer.status < 300 ? resourcePath(answer.location, url) : undefined;
    if (resource !== undefined) {
      const id = newSessionId();
      const at = clock.now();
      sessions.add(
        {
          id,
          kind: o.kind,
          targetHost: t.host,
          targetPort: t.port,
          targetApp: o.app,
          stream: o.stream,
          resource,
          clientAddress: o.meta.address,
          ...(o.meta.userAgent !== undefined ? { clientUserAgent: o.meta.userAgent } : {}),
          secureClient: o.meta.secure,
          creationTime: at,
          lastUsed: at,
          bytesIn: Buffer.byteLength(o.body ?? ''),
          bytesOut: answer.body.length,
        },
        at,
      );
      answer.headers.location = `${SESSION_BASE}/${id}`;
      if (debug) log.debug({ session: id, kind: o.kind, node: t.host, app: o.app }, 'session created');
    }
    return { status: answer.status, headers: answer.headers, body: answer.body };
  }

  async function session(method: 'PATCH' | 'DELETE' | 'OPTIONS', id: string, c: ClientRequest): Promise<RelayAnswer> {
    const now = clock.now();
    const s = sessions.use(id, now);
    if (!s) throw new AppError(404, `No WHIP/WHEP session ${id} (it ended or expired); start a new one with a POST.`, SESSION_GONE);
    const t = target(s.targetHost);
    if (!t) {
      sessions.remove(id);
      throw new AppError(404, `The node of session ${id} is not available any more; start a new session.`, SESSION_GONE);
    }
    if (method === 'DELETE') sessions.remove(id);
    s.bytesIn += Buffer.byteLength(c.body ?? '');
    const answer = await send(origin(t) + s.resource, method, c);
    s.bytesOut += answer.body.length;
    // The node no longer knows it: neither should we.
    if (answer.status === 404) sessions.remove(id);
    return { status: answer.status, headers: answer.headers, body: answer.body };
  }

  /** An administrator's close: forget the session now and tell the node, without waiting for it. */
  function closeOne(id: string): boolean {
    const s = sessions.remove(id);
    if (!s) return false;
    const t = target(s.targetHost);
    if (t) {
      const meta: ClientMeta = { address: s.clientAddress, port: 0, type: 'DIRECT', secure: s.secureClient };
      send(origin(t) + s.resource, 'DELETE', { headers: {}, meta }).catch((err) => log.debug({ err: (err as Error).message, session: id }, 'DELETE to the node failed'));
    }
    return true;
  }

  return {
    offer,
    session,
    closeSessionsOf(host) {
      const n = sessions.removeHost(host);
      if (n) log.info({ node: host, sessions: n }, 'forgot WHIP/WHEP sessions of node');
      return n;
    },
    // Every held session is healthy (no socket can be half-open): 'unhealthy' lists none.
    list: (filter = 'any') => (filter === 'unhealthy' ? [] : sessions.all(clock.now()).map(sessionJson)),
    get(id) {
      const s = sessions.peek(id, clock.now());
      return s && sessionJson(s);
    },
    close: closeOne,
    closeAll() {
      let n = 0;
      for (const s of sessions.all(clock.now())) if (closeOne(s.id)) n++;
      return n;
    },
    stats: () => ({ sessions: sessions.size(clock.now()) }),
    async shutdown() {
      sessions.removeAll();
      await own?.close();
    },
  };
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > cap) {
      body.destroy();
      throw new AppError(502, `The node's answer is larger than ${cap / 1024} KB.`, 'SM_BAD_GATEWAY');
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}

function nodeFailure(err: unknown, timeoutMs: number): AppError {
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new AppError(504, `The node did not answer within ${timeoutMs} ms.`, 'SM_GATEWAY_TIMEOUT');
  }
  return new AppError(502, 'The node could not be reached.', 'SM_BAD_GATEWAY');
}
