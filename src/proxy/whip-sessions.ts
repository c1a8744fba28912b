/**
 * WHIP/WHEP sessions held by the manager: which node session a manager session URL stands for. In memory
 * only (a manager restart loses them; the client's media is unaffected, only its later PATCH/DELETE 404).
 *
 * Expiry without timers: the map is kept in last-use order (a touched session is re-inserted at the end),
 * so expired sessions are always at its front and every access drops them in O(expired).
 */
import { randomBytes } from 'node:crypto';
import type { WhipKind } from './whip-request.ts';

export interface WhipSession {
  /** Unguessable: the session URL is the client's only credential for PATCH and DELETE. */
  id: string;
  kind: WhipKind;
  targetHost: string;
  targetPort: number;
  targetApp: string;
  stream: string;
  /** Path and query of the node's session resource (from its Location). */
  resource: string;
  clientAddress: string;
  clientUserAgent?: string;
  secureClient: boolean;
  creationTime: number;
  lastUsed: number;
  /** SDP bytes relayed client → node and node → client. */
  bytesIn: number;
  bytesOut: number;
}

/** A WHIP/WHEP session in `/admin/proxy/clients`: the WebSocket session's fields plus its kind and stream. */
export interface WhipSessionJson {
  id: string;
  type: WhipKind;
  targetHost: string;
  targetPort: number;
  targetApp: string;
  streamName: string;
  clientConnected: boolean;
  proxyConnected: boolean;
  clientUserAgent?: string;
  clientAddress: string;
  secureClient: boolean;
  creationTime: number;
  lastActivity: number;
  bytesIn: number;
  bytesOut: number;
}

export const newSessionId = () => randomBytes(16).toString('hex');

export class WhipSessions {
  private readonly byId = new Map<string, WhipSession>();
  private readonly perClient = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  /** Sessions alive at `now`. */
  size(now: number): number {
    this.expire(now);
    return this.byId.size;
  }

  /** Sessions of this client address alive at `now`. */
  ofClient(address: string, now: number): number {
    this.expire(now);
    return this.perClient.get(address) ?? 0;
  }

  add(s: WhipSession, now: number) {
    this.expire(now);
    this.byId.set(s.id, s);
    this.perClient.set(s.clientAddress, (this.perClient.get(s.clientAddress) ?? 0) + 1);
  }

  /** The session, its TTL restarted (a client still using it keeps it). */
  use(id: string, now: number): WhipSession | undefined {
    this.expire(now);
    const s = this.byId.get(id);
    if (!s) return undefined;
    s.lastUsed = now;
    this.byId.delete(id);
    this.byId.set(id, s);
    return s;
  }

  peek(id: string, now: number): WhipSession | undefined {
    this.expire(now);
    return this.byId.get(id);
  }

  remove(id: string): WhipSession | undefined {
    const s = this.byId.get(id);
    if (!s) return undefined;
    this.byId.delete(id);
    const n = (this.perClient.get(s.clientAddress) ?? 1) - 1;
    if (n > 0) this.perClient.set(s.clientAddress, n);
    else this.perClient.delete(s.clientAddress);
    return s;
  }

  /** Drops every session on this node; returns how many. */
  removeHost(host: string): number {
    let n = 0;
    for (const s of [...this.byId.values()]) {
      if (s.targetHost === host) {
        this.remove(s.id);
        n++;
      }
    }
    return n;
  }

  removeAll(): number {
    const n = this.byId.size;
    this.byId.clear();
    this.perClient.clear();
    return n;
  }

  all(now: number): WhipSession[] {
    this.expire(now);
    return [...this.byId.values()];
  }

  private expire(now: number) {
    if (this.ttlMs <= 0) return;
    for (const s of this.byId.values()) {
      if (now - s.lastUsed < this.ttlMs) break;
      this.remove(s.id);
    }
  }
}

export function sessionJson(s: WhipSession): WhipSessionJson {
  return {
    id: s.id,
    type: s.kind,
    targetHost: s.targetHost,
    targetPort: s.targetPort,
    targetApp: s.targetApp,
    streamName: s.stream,
    // Signalling is request/answer: between requests neither leg is "connected", yet the session is healthy.
    clientConnected: true,
    proxyConnected: true,
    ...(s.clientUserAgent !== undefined ? { clientUserAgent: s.clientUserAgent } : {}),
    clientAddress: s.clientAddress,
    secureClient: s.secureClient,
    creationTime: s.creationTime,
    lastActivity: s.lastUsed,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
  };
}
