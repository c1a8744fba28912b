import type { ClusterNode, Role } from '../domain/types.ts';
import type { NodeOps } from '../cluster/node-ops.ts';
import type { EventLog } from '../cluster/scale-events.ts';
import { CloudError, type CloudController } from '../cloud/cloud-controller.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { LeaseFence } from '../store/cluster-store.ts';
import type { InFlightSnap, ItemResult, LaunchItem, LaunchOutcome, PlanItem } from './types.ts';

export interface ActuatorDeps {
  ops: Pick<NodeOps, 'launch' | 'drain' | 'cancelDrain' | 'terminate'>;
  events: Pick<EventLog, 'record'>;
  /** Optional pool hint (CloudController.available): launches the pool cannot take are not attempted. */
  cloud?: Pick<CloudController, 'available'>;
  clock: Pick<Clock, 'now'>;
  log: Logger;
  /** The lease generation this manager acts under: launch intents are written only while it is current. */
  fence?: () => LeaseFence | undefined;
}

export interface Actuator {
  /**
   * Carries out a plan. Terminations, drains and events are awaited (store writes, quick); launches are
   * started and NOT awaited — a cloud may take minutes (the simulated one waits
   * managed.operationTimeoutMilliseconds), and the loop must keep ticking meanwhile. A started launch is
   * visible at once in `view.launching` (NodeOps) and in `inFlight()`, so the next tick counts it as
   * capacity on its way; its outcome is collected by `takeSettled()`. Never throws: each item reports ok/error.
   */
  execute(items: readonly PlanItem[]): Promise<ItemResult[]>;
  /** Launches started and not settled (for the snapshot). */
  inFlight(): InFlightSnap[];
  /** Outcomes settled since the last call (drained). */
  takeSettled(): LaunchOutcome[];
  /** Resolves when every launch started so far has settled (tests, shutdown). */
  idle(): Promise<void>;
}

interface Batch {
  item: LaunchItem;
  wanted: number;
  pending: number;
  launched: number;
  poolExhausted: number;
  failed: number;
  shortReported: boolean;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const codeOf = (err: unknown) => {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : null;
};

export function createActuator(d: ActuatorDeps): Actuator {
  const log = d.log.child({ component: 'autoscaler-actuator' });
  const flights = new Map<number, InFlightSnap & { promise: Promise<unknown> }>();
  let settled: LaunchOutcome[] = [];
  let seq = 0;

  async function run(item: PlanItem): Promise<ItemResult> {
    try {
      switch (item.kind) {
        case 'event':
          await d.events.record({ group: item.group, kind: item.eventKind, role: item.role, node: item.node, reason: item.reason, data: { rule: item.rule, ...item.data } });
          return { item, ok: true };
        case 'terminate': {
          const ok = await d.ops.terminate(item.address, { reason: item.reason, cloudReason: item.cloudReason, kind: item.eventKind, keepRow: item.keepRow, data: { rule: item.rule, ...item.data } });
          return ok ? { item, ok } : { item, ok, error: 'node already gone or changed state' };
        }
        case 'cancelDrain': {
          const ok = await d.ops.cancelDrain(item.address, item.reason, { rule: item.rule, ...item.data });
          return ok ? { item, ok } : { item, ok, error: 'node no longer draining' };
        }
        case 'drain': {
          const ok = await d.ops.drain(item.address, item.reason, { rule: item.rule, ...item.data });
          return ok ? { item, ok } : { item, ok, error: 'node no longer in service' };
        }
        case 'launch':
          return await startLaunches(item);
      }
    } catch (err) {
      return { item, ok: false, error: message(err), code: codeOf(err) ?? undefined };
    }
  }

  /** Free hosts per zone of the region, or null when the cloud gives no hint. */
  async function poolHint(item: LaunchItem): Promise<Map<string, number> | null> {
    if (!d.cloud?.available || !item.instanceType) return null;
    const free = new Map<string, number>();
    try {
      for (const z of item.zones) {
        if (item.avoidZones.includes(z)) continue;
        const n = await d.cloud.available(z, item.instanceType);
        if (n === null) return null;
        free.set(z, n);
      }
    } catch (err) {
      log.debug({ err: message(err), group: item.group }, 'pool hint unavailable; launching without it');
      return null;
    }
    return free;
  }

  async function startLaunches(item: LaunchItem): Promise<ItemResult> {
    const free = await poolHint(item);
    let allowed = item.count;
    let short: ItemResult['short'];
    if (free) {
      const total = [...free.values()].reduce((a, b) => a + b, 0);
      if (total < item.count) {
        allowed = total;
        short = { wanted: item.count, launched: total, missing: item.count - total };
        // One event for the whole shortfall; memory then backs the key off, so the next ticks stay quiet.
        await d.events.record({
          group: item.group,
          kind: 'refused',
          role: item.role,
          node: null,
          reason: `Not enough ${item.instanceType} hosts in the pool for ${item.role}s in ${item.region}: wanted ${item.count}, launching ${total}, missing ${item.count - total} (add hosts to the pool). ${item.reason}`,
          data: { rule: item.rule, ...item.data, wanted: item.count, launched: total, missing: item.count - total, freeByZone: Object.fromEntries(free) },
        });
      }
    }
    const batch: Batch = { item, wanted: item.count, pending: allowed, launched: 0, poolExhausted: 0, failed: 0, shortReported: !!short };
    for (let i = 0; i < allowed; i++) {
      // Steer each launch away from zones the hint says are empty (NodeOps otherwise picks the zone with fewest nodes).
      const avoid = new Set(item.avoidZones);
      if (free) for (const [z, n] of free) if (n <= 0) avoid.add(z);
      startOne(item, avoid, batch, free);
    }
    if (allowed === 0) return { item, ok: false, started: 0, short, code: 'POOL_EXHAUSTED', error: `no free ${item.instanceType} host in ${item.region}` };
    return { item, ok: true, started: allowed, short };
  }

  function startOne(item: LaunchItem, avoidZones: Set<string>, batch: Batch, free: Map<string, number> | null) {
    const id = ++seq;
    let identifier: string | null = null;
    let zone: string | null = null;
    let promise: Promise<ClusterNode>;
    try {
      promise = d.ops.launch(item.group, item.role, {
        reason: item.reason,
        region: item.region,
        avoidZones,
        data: { rule: item.rule, ...item.data },
        kind: item.eventKind,
        fence: d.fence?.(),
        onStart: (l) => {
          identifier = l.identifier;
          zone = l.zone;
        },
      });
    } catch (err) {
      promise = Promise.reject(err);
    }
    if (zone && free?.has(zone)) free.set(zone, free.get(zone)! - 1);
    const base = { key: item.key, group: item.group, role: item.role as Role, region: item.region };
    const tracked = promise.then(
      (node) => {
        batch.launched++;
        settled.push({ type: 'launched', ...base, zone: node.availabilityZone, address: node.address, identifier: node.identifier, at: d.clock.now() });
      },
      (err) => {
        const code = codeOf(err);
        if (code === 'POOL_EXHAUSTED') batch.poolExhausted++;
        else batch.failed++;
        // Only cloud failures count against a zone; a deleted group or missing launch config says nothing about it.
        const cloudZone = err instanceof CloudError ? (zone ?? ((err.details.zone as string | undefined) ?? null)) : null;
        settled.push({ type: 'failed', ...base, zone: cloudZone, code, error: message(err), at: d.clock.now() });
        log.warn({ group: item.group, role: item.role, zone, code, err: message(err) }, 'launch failed');
      },
    ).finally(() => {
      flights.delete(id);
      if (--batch.pending === 0) {
        settled.push({ type: 'batch', ...base, wanted: batch.wanted, launched: batch.launched, poolExhausted: batch.poolExhausted, failed: batch.failed, shortReported: batch.shortReported, at: d.clock.now() });
      }
    });
    flights.set(id, { identifier, group: item.group, role: item.role, region: item.region, zone, since: d.clock.now(), promise: tracked });
  }

  return {
    async execute(items) {
      const results: ItemResult[] = [];
      // Order inside a tick: explain, then remove what is dead or done, then move drains, then add capacity;
      // within a kind, plan order. Items of one kind are independent (distinct nodes), so they run
      // concurrently; launches run one pre-check at a time so two groups never count the same free host.
      for (const kind of ['event', 'terminate', 'cancelDrain', 'drain'] as const) {
        results.push(...(await Promise.all(items.filter((i) => i.kind === kind).map(run))));
      }
      for (const item of items) if (item.kind === 'launch') results.push(await run(item));
      return results;
    },
    inFlight: () => [...flights.values()].map(({ promise: _p, ...f }) => f),
    takeSettled() {
      const out = settled;
      settled = [];
      return out;
    },
    async idle() {
      while (flights.size) await Promise.allSettled([...flights.values()].map((f) => f.promise));
    },
  };
}
