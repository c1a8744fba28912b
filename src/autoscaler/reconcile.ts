import type { LaunchIntent, NodeGroup } from '../domain/types.ts';
import type { Instance } from '../cloud/cloud-controller.ts';
import type { CloudController } from '../cloud/cloud-controller.ts';
import type { ClusterStore } from '../store/cluster-store.ts';
import type { ClusterView } from '../cluster/view.ts';
import type { NodeOps } from '../cluster/node-ops.ts';
import type { EventLog } from '../cluster/scale-events.ts';
import type { Logger } from '../lib/logger.ts';
import type { InFlightSnap } from './types.ts';
import type { SimulatedCloud } from '../cloud/simulated/simulated-cloud.ts';
import type { Provision } from '../cloud/simulated/provision-store.ts';

/**
 * The leader's reconcile of cloud, pool and store (design §6), at the start of every tick:
 * - a launch intent this process is not running itself (left by a crash, or by a former leader) whose
 *   instance the cloud runs → the pending node it would have been (event `reconciled`);
 * - such an intent with no instance, once older than the launch grace → released (event `released`):
 *   the crash came before the cloud was asked, or the launch failed;
 * - younger ones stay counted as launches in flight (a new leader never launches them again);
 * - an instance (a pool host ASSIGNED) that belongs to no node and no intent for the orphan grace,
 *   measured from when this leader first saw it → terminated back to the pool (event `released`).
 */

export interface ReconcileInput {
  intents: readonly LaunchIntent[];
  /** The cloud's instances by identifier (list() plus describe() of the intents list() missed). */
  instances: ReadonlyMap<string, Instance>;
  /** Identifiers of the nodes in the view (terminated rows excluded). */
  nodeIds: ReadonlySet<string>;
  /** Identifiers this process is launching right now. */
  launching: ReadonlySet<string>;
  groups: ReadonlyMap<string, Pick<NodeGroup, 'state'>>;
  /** When this leader first saw each orphan instance. */
  orphanSince: ReadonlyMap<string, number>;
  now: number;
  /** Start of this leadership: nothing is older than that on this manager's clock. */
  observedSince: number;
  launchGraceMs: number;
  orphanGraceMs: number;
}

export type ReconcileAction =
  | { kind: 'adopt'; intent: LaunchIntent; instance: Instance }
  | { kind: 'drop'; intent: LaunchIntent; why: 'node-exists' | 'group-gone' }
  | { kind: 'release-intent'; intent: LaunchIntent; ageMs: number }
  | { kind: 'wait'; intent: LaunchIntent }
  | { kind: 'orphan'; instance: Instance; since: number }
  | { kind: 'release-host'; instance: Instance; orphanForMs: number };

const live = (i: Instance | undefined): i is Instance => !!i && i.state !== 'terminated';

/** Pure: what to do with every intent and every unaccounted instance. */
export function planReconcile(x: ReconcileInput): ReconcileAction[] {
  const out: ReconcileAction[] = [];
  const intentIds = new Set<string>();
  for (const intent of x.intents) {
    intentIds.add(intent.identifier);
    if (x.launching.has(intent.identifier)) continue; // ours, still with the cloud
    const instance = x.instances.get(intent.identifier);
    const group = x.groups.get(intent.group);
    if (x.nodeIds.has(intent.identifier)) out.push({ kind: 'drop', intent, why: 'node-exists' });
    else if (!group || group.state === 'deleting') out.push({ kind: 'drop', intent, why: 'group-gone' });
    else if (live(instance)) out.push({ kind: 'adopt', intent, instance });
    else {
      const ageMs = x.now - Math.max(intent.created, x.observedSince);
      out.push(ageMs >= x.launchGraceMs ? { kind: 'release-intent', intent, ageMs } : { kind: 'wait', intent });
    }
  }
  for (const instance of x.instances.values()) {
    const id = instance.identifier;
    if (!live(instance) || intentIds.has(id) || x.nodeIds.has(id) || x.launching.has(id)) continue;
    const since = Math.max(x.orphanSince.get(id) ?? x.now, x.observedSince);
    const orphanForMs = x.now - since;
    out.push(orphanForMs >= x.orphanGraceMs ? { kind: 'release-host', instance, orphanForMs } : { kind: 'orphan', instance, since });
  }
  return out;
}

export interface ReconcilerDeps {
  store: Pick<ClusterStore, 'listLaunchIntents' | 'deleteLaunchIntent'>;
  cloud: Pick<CloudController, 'list' | 'describe' | 'terminate' | 'regionOfZone'>;
  view: Pick<ClusterView, 'nodes' | 'launching' | 'groups'>;
  ops: Pick<NodeOps, 'adoptLaunch'>;
  events: Pick<EventLog, 'record'>;
  log: Logger;
  /** An intent without an instance is released once this old (the cloud's operation time plus a tick). */
  launchGraceMs: number;
  /** A host serving no node and no intent goes back to the pool after this long (nodeStateToleranceTime). */
  orphanGraceMs: number;
}

export interface Reconciler {
  /** One reconcile pass; throws when the store or the cloud cannot be read (the tick is then skipped). */
  run(now: number, observedSince: number): Promise<ReconcileAction[]>;
  /** Intents of other processes still counted as launches in flight (from the last pass). */
  inFlight(): InFlightSnap[];
}

export function createReconciler(d: ReconcilerDeps): Reconciler {
  const log = d.log.child({ component: 'reconcile' });
  const orphanSince = new Map<string, number>();
  let waiting: InFlightSnap[] = [];

  async function act(a: ReconcileAction, now: number): Promise<void> {
    switch (a.kind) {
      case 'adopt': {
        const { intent, instance } = a;
        const who = intent.generation > 0 ? `a former leader (lease generation ${intent.generation})` : 'a manager that stopped';
        await d.ops.adoptLaunch(
          intent,
          instance,
          `Reconciled: launch ${intent.identifier} by ${who} runs on host ${instance.host}; it is a pending node now and reports or fails as usual.`,
          { rule: 'reconciled', intentCreated: intent.created, host: instance.host, generation: intent.generation },
        );
        return;
      }
      case 'drop':
        await d.store.deleteLaunchIntent(a.intent.identifier);
        log.info({ identifier: a.intent.identifier, group: a.intent.group, why: a.why }, 'launch intent removed');
        return;
      case 'release-intent': {
        const { intent } = a;
        if (!(await d.store.deleteLaunchIntent(intent.identifier))) return;
        await d.events.record({
          group: intent.group,
          kind: 'released',
          role: intent.role,
          node: intent.identifier,
          reason: `Released: launch intent ${intent.identifier} has no instance in the cloud ${a.ageMs} ms after it was written (the manager stopped before the cloud was asked, or the launch failed); it no longer counts as a launch in flight.`,
          data: { rule: 'released', zone: intent.zone, intentCreated: intent.created, ageMs: a.ageMs, launchGraceMs: d.launchGraceMs, generation: intent.generation },
        });
        return;
      }
      case 'release-host': {
        const { instance } = a;
        await d.cloud.terminate(instance.identifier, 'scale-in');
        orphanSince.delete(instance.identifier);
        const reason = `Released: host ${instance.host} (instance ${instance.identifier}) served no node and no launch for ${a.orphanForMs} ms; it is back in the pool.`;
        const group = instance.group ?? null;
        if (group && d.view.groups.has(group)) {
          await d.events.record({ group, kind: 'released', role: null, node: instance.host, reason, data: { rule: 'released', identifier: instance.identifier, zone: instance.zone, orphanForMs: a.orphanForMs, orphanGraceMs: d.orphanGraceMs } });
        } else log.warn({ host: instance.host, identifier: instance.identifier, group }, reason);
        return;
      }
      case 'orphan':
        if (!orphanSince.has(a.instance.identifier)) {
          orphanSince.set(a.instance.identifier, a.since);
          log.warn({ host: a.instance.host, identifier: a.instance.identifier, releaseInMs: d.orphanGraceMs - (now - a.since) }, 'host serves no node and no launch; released after the grace unless one claims it');
        }
        return;
      case 'wait':
        return;
    }
  }

  return {
    async run(now, observedSince) {
      const [intents, listed] = await Promise.all([d.store.listLaunchIntents(), d.cloud.list()]);
      const instances = new Map(listed.map((i) => [i.identifier, i]));
      const launching = new Set(d.view.launching.keys());
      // list() may lag behind a launch on a real cloud: ask about each foreign intent it does not show.
      for (const i of intents) {
        if (instances.has(i.identifier) || launching.has(i.identifier)) continue;
        const found = await d.cloud.describe(i.identifier);
        if (found) instances.set(i.identifier, found);
      }
      const nodeIds = new Set<string>();
      for (const n of d.view.nodes.values()) if (n.state !== 'terminated') nodeIds.add(n.identifier);
      const actions = planReconcile({
        intents,
        instances,
        nodeIds,
        launching,
        groups: d.view.groups,
        orphanSince,
        now,
        observedSince,
        launchGraceMs: d.launchGraceMs,
        orphanGraceMs: d.orphanGraceMs,
      });
      const orphans = new Set(actions.flatMap((a) => (a.kind === 'orphan' ? [a.instance.identifier] : [])));
      for (const id of [...orphanSince.keys()]) if (!orphans.has(id)) orphanSince.delete(id);
      waiting = actions.flatMap((a) =>
        a.kind === 'wait' ? [{ identifier: a.intent.identifier, group: a.intent.group, role: a.intent.role, region: d.cloud.regionOfZone(a.intent.zone), zone: a.intent.zone, since: a.intent.created }] : [],
      );
      for (const a of actions) {
        try {
          await act(a, now);
        } catch (err) {
          log.warn({ err, kind: a.kind }, 'reconcile action failed; the next tick retries');
        }
      }
      return actions;
    },
    inFlight: () => waiting,
  };
}

/**
 * DELETE /admin/controller/provision/{host}?force=true: removes a pool host even when ASSIGNED, as long as
 * it serves no live node (409 otherwise); the launch intent it carried is dropped and a `released` event
 * names it in its group's log.
 */
export function createForceRemove(d: {
  cloud: Pick<SimulatedCloud, 'removeProvision'>;
  store: Pick<ClusterStore, 'deleteLaunchIntent'>;
  view: Pick<ClusterView, 'nodes' | 'groups'>;
  events: Pick<EventLog, 'record'>;
}) {
  return async (host: string) => {
    const servedBy = (p: Provision) => {
      for (const n of d.view.nodes.values()) {
        if (n.state !== 'terminated' && (n.address === p.host || n.identifier === p.identifier)) return `${n.address} (${n.role} of ${n.group}, ${n.state})`;
      }
      return null;
    };
    const { released, ...view } = await d.cloud.removeProvision(host, { servedBy });
    if (released?.identifier) await d.store.deleteLaunchIntent(released.identifier);
    if (released?.group && d.view.groups.has(released.group)) {
      await d.events.record({
        group: released.group,
        kind: 'released',
        node: view.host,
        reason: `Released by the operator: host ${view.host} (instance ${released.identifier}) served no live node and was removed from the pool (force).`,
        data: { rule: 'released', identifier: released.identifier, forced: true },
      });
    }
    return view;
  };
}
