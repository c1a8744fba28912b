import type { Logger } from '../lib/logger.ts';
import { StoreUnavailableError } from '../store/cluster-store.ts';
import { CloudError } from '../cloud/cloud-controller.ts';
import type { Actuator } from './actuator.ts';
import { planHealth } from './health-planner.ts';
import { applyOutcomes, applyResults, createMemory, observe, type AutoscalerMemory } from './memory.ts';
import { planScaleIn } from './scale-in-planner.ts';
import { planScaleOut } from './scale-out-planner.ts';
import { buildSnapshot, type SnapshotSources } from './snapshot.ts';
import { applySchedules, planScheduleEvents, type ControlsOf } from './schedules.ts';
import { forgetResumed, holdPaused } from './pause.ts';
import type { LaunchOutcome, PlanItem, RunResult, Snapshot } from './types.ts';
import type { Reconciler } from './reconcile.ts';

export interface RunOnceDeps {
  view: SnapshotSources['view'];
  catalog: SnapshotSources['catalog'];
  cloud: SnapshotSources['cloud'];
  settings: SnapshotSources['settings'];
  memory: AutoscalerMemory;
  actuator: Actuator;
  /** Reconciles cloud, pool and store before each plan (launch intents, orphan hosts). */
  reconcile?: Reconciler;
  log: Logger;
  /** Pause and schedules per group (src/catalog/group-controls.ts); none when absent. */
  controls?: ControlsOf;
}

const noControls: ControlsOf = () => ({ paused: false, replaceDead: true, schedules: [] });

/** Every planner on one snapshot (memory already observed): what the autoscaler would do at `now`. */
export function planSnapshot(snapshot: Snapshot, memory: AutoscalerMemory, now: number): PlanItem[] {
  const out = planScaleOut(snapshot, memory, now);
  // A drain the surge cancels is not ended in the same tick (both planners see the same empty draining node).
  const cancelled = new Set(out.flatMap((i) => (i.kind === 'cancelDrain' ? [i.address] : [])));
  const inn = planScaleIn(snapshot, memory, now).filter((i) => !(i.kind === 'terminate' && cancelled.has(i.address)));
  return [...planHealth(snapshot, memory, now), ...inn, ...out];
}

/** What the loop knows about the tick beyond its time. */
export interface TickContext {
  /** Since when this manager observes the cluster (its last leadership gain; restart grace). */
  observedSince: number;
}

/** Pure part of a tick (also what the benchmark measures): snapshot, memory observation, every planner. */
export function planTick(
  deps: Omit<RunOnceDeps, 'log' | 'actuator' | 'reconcile'> & { actuator: Pick<Actuator, 'inFlight'>; reconcile?: Pick<Reconciler, 'inFlight'> },
  outcomes: readonly LaunchOutcome[],
  now: number,
  ctx?: TickContext,
): { items: PlanItem[]; groups: number } {
  const { memory } = deps;
  const outcomeEvents = applyOutcomes(memory, outcomes, deps.settings);
  const controls = deps.controls ?? noControls;
  const snapshot = buildSnapshot(
    { view: deps.view, catalog: deps.catalog, cloud: deps.cloud, settings: deps.settings, inFlight: [...deps.actuator.inFlight(), ...(deps.reconcile?.inFlight() ?? [])], observedSince: ctx?.observedSince },
    now,
  );
  const windows = applySchedules(snapshot, controls, now);
  observe(memory, snapshot, now);
  forgetResumed(memory, snapshot.groups.map((g) => g.name), controls);
  const paused = holdPaused(planSnapshot(snapshot, memory, now), controls, memory);
  const items = [...outcomeEvents, ...planScheduleEvents(snapshot, windows, memory, controls), ...paused.events, ...paused.run];
  return { items, groups: snapshot.groups.length };
}

/**
 * One autoscaler tick at `now`: compute (snapshot + planners), act (actuator), report (RunResult, applied
 * to memory). Never throws: a failure of the tick as a whole comes back as `error`, marked `transient`
 * when the store or cloud is unavailable (the next tick retries).
 */
export async function runOnce(deps: RunOnceDeps, now: number, ctx?: TickContext): Promise<RunResult> {
  const log = deps.log;
  let outcomes: LaunchOutcome[] = [];
  try {
    outcomes = deps.actuator.takeSettled();
    await deps.reconcile?.run(now, ctx?.observedSince ?? now);
    const { items, groups } = planTick(deps, outcomes, now, ctx);
    const results = items.length ? await deps.actuator.execute(items) : [];
    applyResults(deps.memory, results, now, deps.settings);
    for (const r of results) {
      if (!r.ok) log.warn({ group: r.item.group, kind: r.item.kind, rule: r.item.rule, error: r.error, code: r.code }, 'autoscaler action failed');
    }
    if (results.length) log.info({ groups, planned: items.length, failed: results.filter((r) => !r.ok).length }, 'autoscaler tick acted');
    return { at: now, groups, planned: items.length, results, outcomes };
  } catch (err) {
    const transient = err instanceof StoreUnavailableError || (err instanceof CloudError && err.retryable);
    const storeDown = err instanceof StoreUnavailableError;
    return { at: now, groups: 0, planned: 0, results: [], outcomes, error: err instanceof Error ? err.message : String(err), transient, ...(storeDown ? { storeDown } : {}) };
  }
}

/** Convenience for the composition root: one memory and one actuator for the process, runOnce bound to them. */
export function createAutoscaler(deps: Omit<RunOnceDeps, 'memory' | 'actuator'> & { memory?: AutoscalerMemory; actuator: Actuator }) {
  const memory = deps.memory ?? createMemory();
  const full: RunOnceDeps = { ...deps, memory, log: deps.log.child({ component: 'autoscaler' }) };
  return { memory, actuator: deps.actuator, runOnce: (now: number, ctx?: TickContext) => runOnce(full, now, ctx) };
}
