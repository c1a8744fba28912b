/**
 * WebRTC signalling proxy (design §8, reference/classic-api.md §5): browsers open their WebSocket on
 * `/streammanager[/<context>]?id=…&host=<node>&app=<scope>&…` and the manager relays it to the node.
 *
 * Never an open relay: a request is checked completely (handshake, path, parameters, capacity, and the
 * resolver that knows only this manager's inservice/draining nodes) before any connection is attempted,
 * and the address dialled is the resolver's, not the client's. Refusals are HTTP status lines with the
 * classic JSON error body on the raw upgrade socket.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { checkClientHandshake, clientMeta, isProxyPath, parseProxyUrl, refusalResponse, upstreamHeaders, upstreamPath, type Refusal } from './upstream-url.ts';
import { dialUpstream } from './dial.ts';
import { GOING_AWAY, ProxySession, endWith, type SessionJson, type Timing } from './session.ts';
import { SessionRegistry, type ProxyStats, type SessionFilter } from './session-registry.ts';

export type { SessionJson, SessionFilter, ProxyStats };

export interface WsProxyConfig {
  enabled: boolean;
  /** Close a session after this long without a data frame either way (ms, 0 = never). */
  idleTimeout: number;
  /** TCP keepalive delay, and WebSocket ping to clients silent for this long (ms). */
  pingInterval: number;
  /** Upstream handshake timeout (ms). */
  handshakeTimeout: number;
  maxSessions: number;
  /** Sessions open at once from one client address (the socket's peer, not X-Forwarded-For); 0 = no cap. */
  maxSessionsPerClient: number;
}

export type ResolveTarget = (host: string) => { host: string; port: number } | null;

export interface WsProxyDeps {
  config: WsProxyConfig;
  log: Logger;
  clock: Clock;
  /** Address of an inservice or draining node of this manager, by the `host` the client asked for (lower-cased); else null. */
  resolveTarget: ResolveTarget;
}

export interface WsProxy {
  /** Handles 'upgrade' on this server: the proxy path is relayed, any other path gets 404. */
  attach(server: HttpServer | HttpsServer): void;
  /** Closes every session to this node (it died or was terminated); returns how many. */
  closeSessionsOf(host: string): number;
  list(filter?: SessionFilter): SessionJson[];
  get(id: string): SessionJson | undefined;
  /** close(id) closes one session (false if unknown); close() closes all sessions and detaches. */
  close(id: string): boolean;
  close(): Promise<void>;
  closeAll(): number;
  stats(): ProxyStats;
  /** Write-buffer and pause state of a session's two sockets (tests and diagnostics). */
  buffers(id: string): ReturnType<ProxySession['buffers']> | undefined;
}

/** How long a closing pair may take to finish its close handshake before both sockets are destroyed. */
const CLOSE_LINGER_MS = 3000;

export function createWsProxy(deps: WsProxyDeps): WsProxy {
  const { config: cfg, clock, resolveTarget } = deps;
  const log = deps.log.child({ component: 'ws-proxy' });
  const registry = new SessionRegistry();
  /** Open sessions by client address, for proxy.maxSessionsPerClient. */
  const perClient = new Map<string, number>();
  const release = (address: string) => {
    const n = (perClient.get(address) ?? 1) - 1;
    if (n > 0) perClient.set(address, n);
    else perClient.delete(address);
  };
  const timing: Timing = { pingInterval: cfg.pingInterval, idleTimeout: cfg.idleTimeout, linger: CLOSE_LINGER_MS };
  // One janitor for all sessions (not a timer per session): cheap with tens of thousands of sockets.
  const tick = Math.max(10, Math.min(1000, Math.floor(Math.min(cfg.pingInterval, cfg.idleTimeout || Infinity, CLOSE_LINGER_MS) / 4)));
  const servers = new Set<HttpServer | HttpsServer>();
  let janitor: TimerHandle | undefined;
  let closed = false;
  let drained: (() => void) | undefined;

  const hooks = {
    log,
    totals: registry.totals,
    now: () => clock.now(),
    finished(s: ProxySession) {
      if (registry.remove(s)) release(s.info.clientAddress);
      if (log.isLevelEnabled('debug')) log.debug({ session: s.info.id, bytesIn: s.bytesIn, bytesOut: s.bytesOut }, 'session ended');
      if (registry.size === 0) drained?.();
    },
  };

  const ensureJanitor = () => {
    if (!janitor && registry.size > 0) janitor = clock.setTimeout(sweep, tick);
  };
  const sweep = () => {
    janitor = undefined;
    const now = clock.now();
    for (const s of registry.all()) s.sweep(now, timing);
    ensureJanitor();
  };

  const refuse = (socket: Duplex, r: Refusal, why: string) => {
    if (log.isLevelEnabled('debug')) log.debug({ status: r.status, why }, 'upgrade refused');
    endWith(socket, refusalResponse(r, clock.now()));
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A reset while we answer must never become an uncaught 'error'.
    socket.on('error', noop);
    const url = req.url ?? '/';
    if (!isProxyPath(url)) return refuse(socket, { status: 404, message: 'No WebSocket endpoint here; the proxy listens on /streammanager/.' }, 'path');
    if (!cfg.enabled || closed) {
      return refuse(socket, { status: closed ? 503 : 404, message: closed ? 'The proxy is shutting down.' : 'The WebSocket proxy is disabled (proxy.enabled=false).' }, 'disabled');
    }
    const hs = checkClientHandshake(req.method, req.headers);
    if (!hs.ok) return refuse(socket, hs, 'handshake');
    const parsed = parseProxyUrl(url);
    if (!parsed.ok) return refuse(socket, parsed, 'parameters');
    if (registry.size >= cfg.maxSessions) {
      return refuse(socket, { status: 503, message: `Too many proxy sessions (proxy.maxSessions=${cfg.maxSessions}); retry shortly.` }, 'capacity');
    }
    const want = parsed.value;
    let target: { host: string; port: number } | null;
    try {
      target = resolveTarget(want.host);
    } catch (err) {
      log.warn({ err }, 'node resolver failed');
      return refuse(socket, { status: 503, message: 'The node list is unavailable; retry shortly.' }, 'resolver');
    }
    if (!target) return refuse(socket, { status: 404, message: `Host ${want.host} is not an available node of this Stream Manager.` }, 'unknown node');

    const meta = clientMeta(req.headers, socket as Duplex & { remoteAddress?: string; remotePort?: number; encrypted?: boolean });
    const open = perClient.get(meta.address) ?? 0;
    if (cfg.maxSessionsPerClient > 0 && open >= cfg.maxSessionsPerClient) {
      return refuse(socket, { status: 429, message: `Too many proxy sessions from this address (proxy.maxSessionsPerClient=${cfg.maxSessionsPerClient}); close some first.` }, 'client cap');
    }
    const session = new ProxySession(
      {
        id: registry.nextId(),
        targetHost: target.host,
        targetPort: target.port,
        targetApp: want.app,
        ...(meta.userAgent !== undefined ? { clientUserAgent: meta.userAgent } : {}),
        clientAddress: meta.address,
        secureClient: meta.secure,
        creationTime: clock.now(),
      },
      socket,
      hooks,
    );
    registry.add(session);
    perClient.set(meta.address, open + 1);
    ensureJanitor();
    const origin = req.headers.origin;
    session.abortHandshake = dialUpstream(
      {
        host: target.host,
        port: target.port,
        path: upstreamPath(want),
        headers: upstreamHeaders(target, hs.value, meta, origin),
        ...(hs.value.protocol !== undefined ? { offered: hs.value.protocol } : {}),
        timeoutMs: cfg.handshakeTimeout,
        clock,
      },
      (err, up) => {
        if (err || !up) {
          if (log.isLevelEnabled('debug')) log.debug({ session: session.info.id, status: err?.status, why: err?.message }, 'upstream handshake failed');
          return session.fail(refusalResponse(err ?? { status: 502, message: 'Upstream failed.' }, clock.now()));
        }
        session.join(up.socket, up.head, up.response, head, timing);
        if (log.isLevelEnabled('debug')) log.debug({ session: session.info.id, node: target.host, app: want.app }, 'session open');
      },
    );
  };

  function closeOne(id: string): boolean {
    const s = registry.get(id);
    if (!s) return false;
    s.close(GOING_AWAY, 'Closed by administrator');
    return true;
  }

  function closeAll(reason = 'Closed by administrator'): number {
    let n = 0;
    for (const s of registry.all()) {
      if (s.closeRequested) continue;
      s.close(GOING_AWAY, reason);
      n++;
    }
    return n;
  }

  async function shutdown(): Promise<void> {
    closed = true;
    for (const srv of servers) srv.off('upgrade', onUpgrade);
    servers.clear();
    closeAll('Stream Manager shutting down');
    if (registry.size > 0) {
      await new Promise<void>((resolve) => {
        // Peers that do not finish the close handshake in time are cut off.
        const cutoff = clock.setTimeout(() => {
          for (const s of registry.all()) s.destroy();
          resolve();
        }, CLOSE_LINGER_MS);
        drained = () => {
          clock.clearTimeout(cutoff);
          resolve();
        };
      });
    }
    clock.clearTimeout(janitor);
    janitor = undefined;
  }

  function close(id: string): boolean;
  function close(): Promise<void>;
  function close(id?: string): boolean | Promise<void> {
    return id === undefined ? shutdown() : closeOne(id);
  }

  return {
    attach(server) {
      if (servers.has(server)) return;
      servers.add(server);
      server.on('upgrade', onUpgrade);
      log.info({ enabled: cfg.enabled, maxSessions: cfg.maxSessions }, 'WebSocket proxy attached');
    },
    closeSessionsOf(host) {
      let n = 0;
      for (const s of registry.ofHost(host)) {
        if (s.closeRequested) continue;
        s.close(GOING_AWAY, 'Node unavailable');
        n++;
      }
      if (n) log.info({ node: host, sessions: n }, 'closed proxy sessions of node');
      return n;
    },
    list: (filter) => registry.list(filter),
    get: (id) => registry.get(id)?.toJSON(),
    close,
    closeAll: () => closeAll(),
    stats: () => registry.stats(),
    buffers: (id) => registry.get(id)?.buffers(),
  };
}

function noop() {}
