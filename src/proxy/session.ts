/**
 * One proxied WebSocket: the client's upgraded socket joined to the node's upgraded socket.
 *
 * Data path: raw TCP relay of the already-upgraded sockets. Bytes are written on as they arrive, without
 * decoding frames, so a session costs two sockets, two tiny FrameTrackers and a few counters. Back-pressure
 * is the stream contract: when one side's write buffer is full, the other side's reading pauses until
 * 'drain', so at most about one highWaterMark plus one read chunk is buffered per direction.
 *
 * Keep-alive: TCP keepalive on both legs (setKeepAlive(true, pingInterval)) catches dead peers at the
 * kernel level without waking Node. On top, the janitor (ws-proxy.ts) sends a WebSocket ping to a client
 * that has been silent for pingInterval, at a frame boundary, which keeps load balancers and NATs
 * between browser and manager from dropping the socket; a client that answers nothing (not even the pong)
 * for another pingInterval is gone and its session is closed. The client's pong travels on to the node
 * (an unsolicited pong, which RFC 6455 §5.5.3 allows and endpoints ignore). Idle detection reads flags
 * set by data events, folded into timestamps by the janitor, so no clock read happens per chunk.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../lib/logger.ts';
import { FrameTracker, closeFrame, PING_TO_CLIENT } from './frames.ts';

export const GOING_AWAY = 1001;

export interface SessionJson {
  id: string;
  targetHost: string;
  targetPort: number;
  targetApp: string;
  clientConnected: boolean;
  proxyConnected: boolean;
  clientUserAgent?: string;
  clientAddress: string;
  secureClient: boolean;
  creationTime: number;
  /** Bytes from the client towards the node. */
  bytesIn: number;
  /** Bytes from the node towards the client. */
  bytesOut: number;
}

export interface SessionInfo {
  id: string;
  targetHost: string;
  targetPort: number;
  targetApp: string;
  clientUserAgent?: string;
  clientAddress: string;
  secureClient: boolean;
  creationTime: number;
}

export interface SessionHooks {
  log: Logger;
  /** Cumulative counters of the whole proxy (for metrics). */
  totals: { bytesIn: number; bytesOut: number };
  /** Called once, when both sockets are gone. */
  finished(s: ProxySession): void;
  now(): number;
}

export interface Timing {
  pingInterval: number;
  idleTimeout: number;
  /** How long a half-closed pair may wait for its other leg before both sockets are destroyed. */
  linger: number;
}

type State = 'handshake' | 'open' | 'closing' | 'done';

export class ProxySession {
  clientConnected = true;
  proxyConnected = false;
  bytesIn = 0;
  bytesOut = 0;
  /** Set by close(): the session is on its way out and no longer listed. */
  closeRequested = false;
  /** Aborts the upstream handshake while it runs. */
  abortHandshake?: (reason: string) => void;

  private state: State = 'handshake';
  private upstream?: Socket;
  private readonly up = new FrameTracker(); // client → node
  private readonly down = new FrameTracker(); // node → client
  private clientPaused = false;
  private sawData = false;
  private sawClient = false;
  private lastActive: number;
  private lastFromClient: number;
  private pingSentAt = 0;
  private closingSince = 0;
  private readonly debug: boolean;

  constructor(
    readonly info: SessionInfo,
    private readonly client: Duplex,
    private readonly hooks: SessionHooks,
  ) {
    this.lastActive = this.lastFromClient = info.creationTime;
    this.debug = hooks.log.isLevelEnabled('debug');
    client.on('error', (e) => this.onError('client', e));
    client.on('close', () => this.legClosed('client'));
  }

  get healthy(): boolean {
    return this.clientConnected && this.proxyConnected;
  }

  /** Joins the node's upgraded socket: sends the 101 to the client, then relays raw bytes both ways. */
  join(upstream: Socket, upHead: Buffer, response: string, clientHead: Buffer, t: Timing) {
    this.abortHandshake = undefined;
    if (this.state !== 'handshake') {
      upstream.destroy();
      return;
    }
    this.state = 'open';
    this.upstream = upstream;
    this.proxyConnected = true;
    const client = this.client as Socket;
    // Signalling is small request/answer messages: no Nagle delay. No socket inactivity timeout either
    // (idle policy is the janitor's); TCP keepalive probes dead peers.
    for (const s of [upstream, client]) {
      s.setTimeout?.(0);
      s.setNoDelay?.(true);
      s.setKeepAlive?.(true, t.pingInterval);
    }
    upstream.on('error', (e) => this.onError('node', e));
    upstream.on('close', () => this.legClosed('node'));
    upstream.on('end', () => this.legEnded('node'));
    client.on('end', () => this.legEnded('client'));

    client.write(response);
    if (upHead.length) this.fromNode(upHead);
    if (clientHead.length) this.fromClient(clientHead);
    client.on('data', (c: Buffer) => this.fromClient(c));
    upstream.on('data', (c: Buffer) => this.fromNode(c));
    upstream.on('drain', () => {
      if (this.clientPaused) {
        this.clientPaused = false;
        client.resume();
      }
    });
    client.on('drain', () => upstream.resume());
  }

  private fromClient(chunk: Buffer) {
    this.bytesIn += chunk.length;
    this.hooks.totals.bytesIn += chunk.length;
    this.sawClient = true;
    if (this.up.push(chunk)) this.sawData = true;
    if (this.debug) this.hooks.log.debug({ session: this.info.id, bytes: chunk.length }, 'client → node');
    const up = this.upstream!;
    if (up.writableEnded || up.destroyed) return;
    if (!up.write(chunk)) {
      this.clientPaused = true;
      this.client.pause();
    }
  }

  private fromNode(chunk: Buffer) {
    this.bytesOut += chunk.length;
    this.hooks.totals.bytesOut += chunk.length;
    if (this.down.push(chunk)) this.sawData = true;
    if (this.debug) this.hooks.log.debug({ session: this.info.id, bytes: chunk.length }, 'node → client');
    const c = this.client;
    if (c.writableEnded || c.destroyed) return;
    if (!c.write(chunk)) this.upstream!.pause();
  }

  /** A peer sent FIN: pass it on, with a close frame first if that peer left without one. */
  private legEnded(leg: 'client' | 'node') {
    if (this.state === 'open') {
      this.state = 'closing';
      this.closingSince = this.hooks.now();
    }
    if (leg === 'client') this.endNode(GOING_AWAY, 'Client went away');
    else this.endClient(GOING_AWAY, 'Node connection lost');
  }

  private legClosed(leg: 'client' | 'node') {
    if (leg === 'client') this.clientConnected = false;
    else this.proxyConnected = false;
    if (this.state === 'handshake') {
      // The client left while the node was being dialled.
      this.abortHandshake?.('client left');
      return this.finish();
    }
    if (this.state === 'done') return;
    if (!this.clientConnected && !this.proxyConnected) return this.finish();
    this.legEnded(leg);
    // Nothing can be delivered to the closed leg any more: let the other one read (and drop) what it still
    // receives, so its close handshake and FIN are seen instead of waiting behind our back-pressure pause.
    if (leg === 'client') this.upstream?.resume();
    else this.client.resume();
  }

  private onError(leg: string, e: Error) {
    // 'close' follows every socket error; the message is only worth a debug line (resets are routine).
    if (this.debug) this.hooks.log.debug({ session: this.info.id, leg, err: e.message }, 'socket error');
  }

  /** Ends the client leg, sending a close frame first when the node has not sent one and the stream is between frames. */
  private endClient(code: number, reason: string) {
    const c = this.client;
    if (c.destroyed || c.writableEnded) return;
    if (!this.down.closeSeen && this.down.atBoundary) {
      this.down.closeSeen = true;
      c.write(closeFrame(code, reason, false));
    }
    c.end();
  }

  private endNode(code: number, reason: string) {
    const u = this.upstream;
    if (!u || u.destroyed || u.writableEnded) return;
    if (!this.up.closeSeen && this.up.atBoundary) {
      this.up.closeSeen = true;
      u.write(closeFrame(code, reason, true));
    }
    u.end();
  }

  /** Closes both legs (admin, node gone, idle, shutdown), each with a close frame where one fits. */
  close(code: number, reason: string) {
    this.closeRequested = true;
    if (this.state === 'handshake') {
      this.abortHandshake?.(reason);
      this.client.destroy();
      return this.finish();
    }
    if (this.state === 'done') return;
    if (this.state === 'open') {
      this.state = 'closing';
      this.closingSince = this.hooks.now();
    }
    this.endClient(code, reason);
    this.endNode(code, reason);
  }

  /** The handshake failed: answer the client with an HTTP refusal instead of a 101. */
  fail(response: string) {
    this.abortHandshake = undefined;
    if (this.state !== 'handshake') return;
    this.closeRequested = true;
    endWith(this.client, response);
    this.finish();
  }

  /** Destroys both sockets at once. */
  destroy() {
    this.client.destroy();
    this.upstream?.destroy();
    this.finish();
  }

  /** Called by the janitor: folds activity flags into times, pings, and enforces the timeouts. */
  sweep(now: number, t: Timing) {
    if (this.state === 'handshake' || this.state === 'done') return;
    if (this.state === 'closing') {
      if (now - this.closingSince >= t.linger) this.destroy();
      return;
    }
    if (this.sawData) {
      this.sawData = false;
      this.lastActive = now;
    }
    if (this.sawClient) {
      this.sawClient = false;
      this.lastFromClient = now;
      this.pingSentAt = 0;
    }
    if (t.idleTimeout > 0 && now - this.lastActive >= t.idleTimeout) return this.close(GOING_AWAY, 'Idle timeout');
    // While we hold the client's reads paused, its silence means nothing.
    if (this.clientPaused) return;
    if (this.pingSentAt && now - this.pingSentAt >= t.pingInterval) return this.close(GOING_AWAY, 'Client not responding');
    if (!this.pingSentAt && now - this.lastFromClient >= t.pingInterval && this.down.atBoundary && !this.down.closeSeen) {
      this.pingSentAt = now;
      this.client.write(PING_TO_CLIENT);
    }
  }

  private finish() {
    if (this.state === 'done') return;
    this.state = 'done';
    this.clientConnected = false;
    this.proxyConnected = false;
    this.hooks.finished(this);
  }

  /** Write-buffer and pause state of both legs (tests and diagnostics). */
  buffers() {
    const u = this.upstream;
    return {
      clientWritableLength: this.client.writableLength,
      nodeWritableLength: u?.writableLength ?? 0,
      clientReadPaused: this.client.isPaused(),
      nodeReadPaused: u?.isPaused() ?? false,
    };
  }

  toJSON(): SessionJson {
    const i = this.info;
    return {
      id: i.id,
      targetPort: i.targetPort,
      targetHost: i.targetHost,
      targetApp: i.targetApp,
      clientConnected: this.clientConnected,
      proxyConnected: this.proxyConnected,
      ...(i.clientUserAgent !== undefined ? { clientUserAgent: i.clientUserAgent } : {}),
      clientAddress: i.clientAddress,
      secureClient: i.secureClient,
      creationTime: i.creationTime,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }
}

/**
 * Writes a last response and half-closes; the socket is destroyed once the peer closes too, or after a
 * short grace period (a socket timeout, i.e. I/O inactivity, not a scheduled job) for peers that never do.
 */
export function endWith(socket: Duplex, data: string) {
  if (socket.destroyed) return;
  socket.end(data);
  (socket as Socket).setTimeout?.(2000, () => socket.destroy());
}
