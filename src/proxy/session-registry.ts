/**
 * The live proxy sessions, by id and by node, plus cumulative byte counters. A session stays here until
 * both of its sockets are gone (it still holds resources until then, so it counts towards maxSessions),
 * but one that was closed on purpose is no longer listed.
 */
import { randomBytes } from 'node:crypto';
import type { ProxySession, SessionJson } from './session.ts';

export type SessionFilter = 'any' | 'healthy' | 'unhealthy';

export interface ProxyStats {
  /** Sessions open now. */
  sessions: number;
  /** Bytes relayed from clients to nodes since start (all sessions, closed ones included). */
  bytesIn: number;
  /** Bytes relayed from nodes to clients since start. */
  bytesOut: number;
}

export class SessionRegistry {
  private readonly byId = new Map<string, ProxySession>();
  private readonly byHost = new Map<string, Set<ProxySession>>();
  /** Classic ids look like `412A3BEAC78F67FBB7C6-0`: 20 hex characters, a dash, a sequence number. */
  private readonly prefix = randomBytes(10).toString('hex').toUpperCase();
  private seq = 0;
  readonly totals = { bytesIn: 0, bytesOut: 0 };

  nextId(): string {
    return `${this.prefix}-${this.seq++}`;
  }

  get size(): number {
    return this.byId.size;
  }

  add(s: ProxySession) {
    this.byId.set(s.info.id, s);
    let set = this.byHost.get(s.info.targetHost);
    if (!set) this.byHost.set(s.info.targetHost, (set = new Set()));
    set.add(s);
  }

  /** False when the session was not listed (already removed). */
  remove(s: ProxySession): boolean {
    if (this.byId.get(s.info.id) !== s) return false;
    this.byId.delete(s.info.id);
    const set = this.byHost.get(s.info.targetHost);
    set?.delete(s);
    if (set && set.size === 0) this.byHost.delete(s.info.targetHost);
    return true;
  }

  /** A listed session (not one already being closed on purpose). */
  get(id: string): ProxySession | undefined {
    const s = this.byId.get(id);
    return s && !s.closeRequested ? s : undefined;
  }

  ofHost(host: string): ProxySession[] {
    return [...(this.byHost.get(host) ?? [])];
  }

  all(): ProxySession[] {
    return [...this.byId.values()];
  }

  list(filter: SessionFilter = 'any'): SessionJson[] {
    const out: SessionJson[] = [];
    for (const s of this.byId.values()) {
      if (s.closeRequested) continue;
      if (filter === 'healthy' && !s.healthy) continue;
      if (filter === 'unhealthy' && s.healthy) continue;
      out.push(s.toJSON());
    }
    return out;
  }

  stats(): ProxyStats {
    let sessions = 0;
    for (const s of this.byId.values()) if (!s.closeRequested) sessions++;
    return { sessions, bytesIn: this.totals.bytesIn, bytesOut: this.totals.bytesOut };
  }
}
