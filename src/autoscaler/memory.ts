import { estimateRole, groupMode, groupOfKey, isCounted } from './estimator.ts';
import type { AutoscalerSettings, EventItem, ItemResult, LaunchOutcome, Snapshot } from './types.ts';

/**
 * The autoscaler's own state between ticks: plain maps, changed only by the three functions below.
 * It lives in the process that holds the lease; a new leader starts with empty memory, which is safe:
 * cool-downs and wait times restart (no action is taken sooner than a fresh start would take it)
 * and back-offs are re-learned from the next failure. Keys are `keyOf(group, region, role)`.
 */
export interface AutoscalerMemory {
  /** Last load-driven scale-out (launch or cancelled drain). */
  lastScaleOut: Map<string, number>;
  /** Last scale-in drain. */
  lastScaleIn: Map<string, number>;
  /** Since when load% > threshold without a break (scaleOutWaitTime). */
  breachSince: Map<string, number>;
  /** Since when load would stay < threshold/2 without the least-loaded node (scaleInWaitTime). */
  lowSince: Map<string, number>;
  /** Pool-exhausted back-off: no launches for the key until `until`. */
  poolBackoff: Map<string, { since: number; until: number }>;
  /** Consecutive non-pool launch failures per zone. */
  zoneFailures: Map<string, number>;
  /** Zones avoided until (zone back-off). */
  zoneAvoidUntil: Map<string, number>;
  /** Groups this manager shut down (dead origin, replaceDeadClusters=false), until an origin is alive again. */
  shutDown: Map<string, number>;
  /** One-per-episode notes (e.g. "at maxLimit") so a blocked rule is explained once, not every tick. */
  notes: Map<string, string>;
}

/** Launch failures in a row that put a zone on the avoid list (blackListCleanUpTime). */
export const ZONE_FAILURE_LIMIT = 3;

export function createMemory(): AutoscalerMemory {
  return {
    lastScaleOut: new Map(),
    lastScaleIn: new Map(),
    breachSince: new Map(),
    lowSince: new Map(),
    poolBackoff: new Map(),
    zoneFailures: new Map(),
    zoneAvoidUntil: new Map(),
    shutDown: new Map(),
    notes: new Map(),
  };
}

/** No new launches for a while after the pool ran dry: retrying every tick would only fill the event log. */
export const poolBackoffMs = (s: AutoscalerSettings) => Math.max(30_000, s.tickInterval * 10);

export function poolBackoffLeft(m: AutoscalerMemory, key: string, now: number): number {
  const b = m.poolBackoff.get(key);
  return b && b.until > now ? b.until - now : 0;
}

export function avoidedZones(m: AutoscalerMemory, now: number): Set<string> {
  const out = new Set<string>();
  for (const [z, until] of m.zoneAvoidUntil) if (until > now) out.add(z);
  return out;
}

/**
 * Start of every tick, before planning: tracks continuous breach / low-load periods (wait times),
 * ends notes whose condition is gone and forgets groups that no longer exist.
 */
export function observe(m: AutoscalerMemory, snapshot: Snapshot, now: number): void {
  const s = snapshot.settings;
  const seen = new Set<string>();
  const groups = new Set<string>();
  for (const g of snapshot.groups) {
    groups.add(g.name);
    if (m.shutDown.has(g.name) && (g.inFlight.some((l) => l.role === 'origin') || g.nodes.some((n) => n.role === 'origin' && isCounted(n, s, now)))) {
      m.shutDown.delete(g.name); // an operator launched an origin: the group lives again
    }
    if (g.state === 'deleting' || groupMode(g, s, now, m.shutDown.has(g.name)) !== 'running') continue;
    for (const r of g.roles) {
      const e = estimateRole(r, s, now);
      seen.add(r.key);
      if (e.breach) {
        if (!m.breachSince.has(r.key)) m.breachSince.set(r.key, now);
      } else m.breachSince.delete(r.key);
      if (e.low) {
        if (!m.lowSince.has(r.key)) m.lowSince.set(r.key, now);
      } else m.lowSince.delete(r.key);
      // Notes explain a blocked scale-out; once the load is back under the threshold the episode is over.
      if (!e.breach) m.notes.delete(r.key);
      if (r.instanceType !== null) m.notes.delete(r.key + TARGET_NOTE);
    }
  }
  for (const k of m.breachSince.keys()) if (!seen.has(k)) m.breachSince.delete(k);
  for (const k of m.lowSince.keys()) if (!seen.has(k)) m.lowSince.delete(k);
  for (const map of [m.lastScaleOut, m.lastScaleIn, m.poolBackoff, m.notes] as Map<string, unknown>[]) {
    for (const k of map.keys()) if (!groups.has(groupOfKey(k))) map.delete(k);
  }
  for (const k of m.shutDown.keys()) if (!groups.has(k)) m.shutDown.delete(k);
  for (const [k, b] of m.poolBackoff) if (b.until <= now) m.poolBackoff.delete(k);
  let zoneExpired = false;
  for (const [z, until] of m.zoneAvoidUntil) {
    if (until > now) continue;
    m.zoneAvoidUntil.delete(z);
    zoneExpired = true;
  }
  // "every zone is backed off" notes end when a zone comes back.
  if (zoneExpired) for (const k of m.notes.keys()) if (k.endsWith(ZONES_NOTE)) m.notes.delete(k);
}

/** Suffix of the note key that explains "every zone of the region is backed off". */
export const ZONES_NOTE = '\u0000zones';
/** Suffix of the note key that explains "the launch config has no target for the role". */
export const TARGET_NOTE = '\u0000target';

/** After the actuator ran a tick's plan: cool-downs start, pre-checked pool shortfalls start a back-off, notes are kept. */
export function applyResults(m: AutoscalerMemory, results: readonly ItemResult[], at: number, s: AutoscalerSettings): void {
  for (const r of results) {
    const it = r.item;
    if (it.kind === 'launch') {
      if (it.rule === 'scale-out' && (r.started ?? 0) > 0) m.lastScaleOut.set(it.key, at);
      if (r.short) m.poolBackoff.set(it.key, { since: at, until: at + poolBackoffMs(s) });
    } else if (it.kind === 'cancelDrain') {
      if (r.ok && it.rule === 'scale-out') m.lastScaleOut.set(it.key, at);
    } else if (it.kind === 'drain') {
      if (r.ok && it.rule === 'scale-in') m.lastScaleIn.set(it.key, at);
    } else if (it.kind === 'event' && r.ok) {
      if (it.note) m.notes.set(it.note.key, it.note.value);
      if (it.rule === 'cluster-shutdown') m.shutDown.set(it.group, at);
    }
  }
}

/**
 * Launch outcomes that settled since the last tick. Returns the back-off events to record:
 * - POOL_EXHAUSTED starts the key's pool back-off at the failure time (NodeOps has recorded `refused`);
 *   once the whole batch has settled, one `backoff` event says how many hosts were missing;
 * - other cloud failures count against the zone; ZONE_FAILURE_LIMIT in a row put it on the avoid list for
 *   blackListCleanUpTime; a success in the zone resets its count.
 */
export function applyOutcomes(m: AutoscalerMemory, outcomes: readonly LaunchOutcome[], s: AutoscalerSettings): EventItem[] {
  const events: EventItem[] = [];
  for (const o of outcomes) {
    if (o.type === 'launched') {
      m.zoneFailures.delete(o.zone);
    } else if (o.type === 'failed') {
      if (o.code === 'POOL_EXHAUSTED') {
        if (poolBackoffLeft(m, o.key, o.at) === 0) m.poolBackoff.set(o.key, { since: o.at, until: o.at + poolBackoffMs(s) });
      } else if (o.zone && o.code !== null && o.code !== 'UNKNOWN_ZONE') {
        const n = (m.zoneFailures.get(o.zone) ?? 0) + 1;
        if (n < ZONE_FAILURE_LIMIT) {
          m.zoneFailures.set(o.zone, n);
          continue;
        }
        m.zoneFailures.delete(o.zone);
        const until = o.at + s.blackListCleanUpTime;
        m.zoneAvoidUntil.set(o.zone, until);
        events.push({
          kind: 'event',
          eventKind: 'backoff',
          rule: 'zone-backoff',
          group: o.group,
          role: o.role,
          node: null,
          reason: `Zone ${o.zone} avoided for ${s.blackListCleanUpTime} ms after ${ZONE_FAILURE_LIMIT} launch failures in a row (last: ${o.error}).`,
          data: { zone: o.zone, failures: ZONE_FAILURE_LIMIT, lastCode: o.code, until, blackListCleanUpTime: s.blackListCleanUpTime },
        });
      }
    } else if (o.poolExhausted > 0 && !o.shortReported) {
      const missing = o.wanted - o.launched;
      const b = m.poolBackoff.get(o.key);
      events.push({
        kind: 'event',
        eventKind: 'backoff',
        rule: 'pool-backoff',
        group: o.group,
        role: o.role,
        node: null,
        reason: `The cloud pool could not provide ${o.role} hosts in ${o.region}: wanted ${o.wanted}, launched ${o.launched}, missing ${missing}; no ${o.role} launches for ${b ? Math.max(0, b.until - o.at) : poolBackoffMs(s)} ms (add hosts to the pool).`,
        data: { region: o.region, wanted: o.wanted, launched: o.launched, missing, backoffUntil: b?.until ?? null, backoffMs: poolBackoffMs(s) },
      });
    }
  }
  return events;
}
