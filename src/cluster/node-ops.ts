import type { ClusterNode, LaunchConfig, LaunchIntent, NodeGroup, NodeState, Role, ScalePolicy } from '../domain/types.ts';
import { StaleLeaseError, type ClusterStore, type LeaseFence } from '../store/cluster-store.ts';
import { CloudError, type CloudController, type Instance, type TerminateReason } from '../cloud/cloud-controller.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Config } from '../config/schema.ts';
import { badRequest, notFound } from '../lib/errors.ts';
import type { ClusterView, Launching } from './view.ts';
import type { EventLog } from './scale-events.ts';
import { dropParentLinks, newRelationsFor, releaseChildren, saveRelations } from './links.ts';

/** What node operations need from the catalog (launch configs and policies by name). */
export interface CatalogReader {
  launchConfig(name: string): LaunchConfig | null | undefined;
  scalePolicy(name: string): ScalePolicy | null | undefined;
}

export interface NodeOpsDeps {
  config: Config;
  clock: Clock;
  log: Logger;
  store: ClusterStore;
  cloud: CloudController;
  view: ClusterView;
  catalog: CatalogReader;
  events: EventLog;
  /** Called when a node stops serving (terminating): the proxy closes its sessions. */
  onNodeGone?: (address: string) => void;
}

export interface LaunchOptions {
  reason: string;
  /** Region to launch in (default: the group region with the fewest nodes of the role). */
  region?: string;
  /** Zones to avoid (zone back-off). */
  avoidZones?: ReadonlySet<string>;
  /** Numbers behind the decision, stored with the scale event. */
  data?: Record<string, unknown>;
  /** Event kind to record (default `launch`). */
  kind?: 'launch' | 'replace';
  /** Called synchronously, before the cloud is asked, with the instance being launched. */
  onStart?: (launching: Launching) => void;
  /** The autoscaler's lease generation: the launch intent is written only while it is current (fencing). */
  fence?: LeaseFence;
}

export interface TerminateOptions {
  reason: string;
  cloudReason: TerminateReason;
  /** `dead` for failed nodes; default `terminate`. */
  kind?: 'terminate' | 'dead';
  /** Keep the row as `terminated` instead of deleting it (deleteDeadGroupNodesOnCleanUp=false). */
  keepRow?: boolean;
  data?: Record<string, unknown>;
}

export type NodeOps = ReturnType<typeof createNodeOps>;

/**
 * The only code that changes nodes: launches through the cloud, state transitions, links and
 * termination. The store is written first, then the view, so a store failure changes nothing.
 */
export function createNodeOps(d: NodeOpsDeps) {
  const log = d.log.child({ component: 'nodes' });
  /** Launches the cloud is still working on, by group (group deletion waits for them). */
  const inflight = new Map<string, Set<Promise<unknown>>>();

  function launchTarget(group: NodeGroup, role: Role) {
    const lc = d.catalog.launchConfig(group.launchConfig);
    if (!lc) throw notFound(`Launch configuration ${group.launchConfig} of group ${group.name} does not exist.`);
    const t = lc.targets.target.find((x) => x.role === role);
    if (!t) throw badRequest(`Launch configuration ${lc.name} has no target for role ${role}.`);
    return t;
  }

  function chooseZone(group: NodeGroup, role: Role, opts: LaunchOptions): string {
    const regions = opts.region ? [opts.region] : group.regions;
    const zones = d.cloud.zones.filter((z) => regions.includes(d.cloud.regionOfZone(z)) && !opts.avoidZones?.has(z));
    if (!zones.length) {
      throw new CloudError('UNKNOWN_ZONE', `No usable availability zone for region(s) ${regions.join(', ')} of group ${group.name}.`, false, { regions });
    }
    // Spread the role over zones: the zone with the fewest nodes (and launches) of this role wins.
    const count = new Map(zones.map((z) => [z, 0]));
    for (const n of d.view.nodesOf(group.name, role)) if (count.has(n.availabilityZone)) count.set(n.availabilityZone, count.get(n.availabilityZone)! + 1);
    for (const l of d.view.launching.values()) if (l.group === group.name && l.role === role && count.has(l.zone)) count.set(l.zone, count.get(l.zone)! + 1);
    return zones.reduce((best, z) => (count.get(z)! < count.get(best)! ? z : best), zones[0]);
  }

  function uniqueIdentifier(zone: string): string {
    const taken = new Set<string>([...d.view.launching.keys()]);
    for (const n of d.view.nodes.values()) taken.add(n.identifier);
    let t = d.clock.now();
    let id = `${d.config.instancecontroller.instanceNamePrefix}-${zone}-${t}`;
    while (taken.has(id)) id = `${d.config.instancecontroller.instanceNamePrefix}-${zone}-${++t}`;
    return id;
  }

  async function transition(n: ClusterNode, from: readonly NodeState[], to: NodeState, reason: string | null): Promise<ClusterNode | null> {
    const now = d.clock.now();
    const drainStartedAt = to === 'draining' ? now : null;
    const ok = await d.store.transitionNode(n.address, from, to, { stateReason: reason, stateUpdated: now, drainStartedAt });
    if (!ok) return null;
    // A report may have landed in the view while the store answered: keep it, change only the state.
    const latest = d.view.nodes.get(n.address);
    const next: ClusterNode = { ...(latest ?? n), state: to, stateReason: reason, stateUpdated: now, drainStartedAt };
    // Gone from the view meanwhile (deleted by another path): do not bring it back.
    if (latest) d.view.setNode(next);
    return next;
  }

  /** The pending node a launch (or an adopted intent) becomes once the cloud has given its host. */
  function pendingNode(group: NodeGroup, role: Role, capacity: number, instance: Instance, launchTime: number, reason: string): ClusterNode {
    return {
      id: 0,
      identifier: instance.identifier,
      group: group.name,
      role,
      region: instance.region,
      availabilityZone: instance.zone,
      address: instance.host,
      port: instance.port ?? d.config.cluster.accessPort,
      state: 'pending',
      launchConfig: group.launchConfig,
      instanceType: instance.instanceType,
      capacity,
      launchTime,
      lastReport: null,
      lastTrafficTime: 0,
      reportingSpeed: d.config.cluster.reportingSpeed,
      connections: { publishers: 0, subscribers: 0 },
      cpu: null,
      memory: null,
      drainStartedAt: null,
      stateReason: reason,
      stateUpdated: d.clock.now(),
    };
  }

  /** Best effort: a leftover intent is cleaned up by the leader's reconcile. */
  const dropIntent = (identifier: string) =>
    d.store.deleteLaunchIntent(identifier).catch((err) => log.warn({ err, identifier }, 'launch intent not deleted; the reconcile removes it'));

  async function launch(groupName: string, role: Role, opts: LaunchOptions): Promise<ClusterNode> {
    const group = d.view.groups.get(groupName);
    if (!group) throw notFound(`Node group ${groupName} does not exist.`);
    if (group.state === 'deleting') throw badRequest(`Node group ${groupName} is being deleted.`);
    const target = launchTarget(group, role);
    const zone = chooseZone(group, role, opts);
    const identifier = uniqueIdentifier(zone);
    const since = d.clock.now();
    const entry = { identifier, group: groupName, role, zone, since };
    d.view.launching.set(identifier, entry);
    opts.onStart?.(entry);
    // Durable before the cloud is asked (design §6): a crash from here on leaves a row the next leader
    // reconciles with the cloud, never an unmanaged instance or a second launch.
    const intent: LaunchIntent = { identifier, group: groupName, role, zone, instanceType: target.instanceType, generation: opts.fence?.generation ?? 0, created: since, host: null, updated: since };
    try {
      if (!(await d.store.addLaunchIntent(intent, opts.fence))) {
        throw new StaleLeaseError(`Launch of ${role} in ${groupName} refused: lease generation ${opts.fence?.generation} is stale (another manager runs the autoscaler now).`);
      }
    } catch (err) {
      d.view.launching.delete(identifier);
      throw err;
    }
    let instance: Instance;
    try {
      instance = await d.cloud.launch({ identifier, role, zone, instanceType: target.instanceType, group: groupName });
    } catch (err) {
      d.view.launching.delete(identifier);
      await dropIntent(identifier);
      const ce = err instanceof CloudError ? err : null;
      await d.events.record({
        group: groupName,
        kind: ce?.code === 'POOL_EXHAUSTED' ? 'refused' : 'launch-failed',
        role,
        node: identifier,
        reason: `${role} launch ${ce?.code === 'POOL_EXHAUSTED' ? 'refused' : 'failed'}: ${(err as Error).message}`,
        data: { ...opts.data, zone, instanceType: target.instanceType, ...(ce?.details ?? {}), launchReason: opts.reason },
      });
      throw err;
    }
    d.view.launching.delete(identifier);
    if (!d.view.groups.has(groupName) || d.view.groups.get(groupName)!.state === 'deleting') {
      // The group went away while the cloud was working: give the instance straight back.
      await d.cloud.terminate(instance.identifier, 'group-deleted').catch(() => undefined);
      await dropIntent(identifier);
      throw notFound(`Node group ${groupName} was deleted during the launch.`);
    }
    // If the store fails from here on, the intent (with its host once completed) stays: the reconcile
    // turns it into this pending node later instead of leaking the instance.
    await d.store.completeLaunchIntent(identifier, instance.host, d.clock.now());
    const stored = await d.store.saveNode(pendingNode(group, role, target.connectionCapacity, instance, since, opts.reason));
    d.view.setNode(stored);
    await dropIntent(identifier);
    await d.events.record({
      group: groupName,
      kind: opts.kind ?? 'launch',
      role,
      node: stored.address,
      reason: opts.reason,
      data: { ...opts.data, identifier: stored.identifier, zone: stored.availabilityZone },
    });
    return stored;
  }

  /**
   * An intent left by a crashed process or a former leader whose instance the cloud runs: it becomes the
   * pending node it would have been (launch time = the intent's), and reports or fails normally.
   */
  async function adoptLaunch(intent: LaunchIntent, instance: Instance, reason: string, data: Record<string, unknown>): Promise<ClusterNode | null> {
    const group = d.view.groups.get(intent.group);
    if (!group || group.state === 'deleting') return null;
    const lc = d.catalog.launchConfig(group.launchConfig);
    const capacity = lc?.targets.target.find((x) => x.role === intent.role)?.connectionCapacity ?? 0;
    const existing = d.view.nodes.get(instance.host);
    if (existing && existing.identifier !== instance.identifier) return null; // the address serves another node: not ours to overwrite
    const stored = existing ?? (await d.store.saveNode(pendingNode(group, intent.role, capacity, instance, intent.created, reason)));
    if (!existing) d.view.setNode(stored);
    await d.store.deleteLaunchIntent(intent.identifier);
    await d.events.record({ group: group.name, kind: 'reconciled', role: intent.role, node: stored.address, reason, data: { ...data, identifier: intent.identifier, zone: instance.zone } });
    return stored;
  }

  return {
    /**
     * Launches one node of `role` into the group; resolves when the cloud has acknowledged it (node
     * `pending`). The launch is visible in `view.launching` before the first await, so callers that do
     * not await it still see it counted.
     */
    launch(groupName: string, role: Role, opts: LaunchOptions): Promise<ClusterNode> {
      const p = launch(groupName, role, opts);
      let set = inflight.get(groupName);
      if (!set) inflight.set(groupName, (set = new Set()));
      set.add(p);
      const done = () => {
        set!.delete(p);
        if (!set!.size) inflight.delete(groupName);
      };
      p.then(done, done);
      return p;
    },

    adoptLaunch,

    /** Settles when every launch in flight for the group has ended (either way). */
    async launchesSettled(groupName: string): Promise<void> {
      await Promise.allSettled([...(inflight.get(groupName) ?? [])]);
    },

    /** First report of a pending node: it is in service and gets its links. */
    async markInService(n: ClusterNode): Promise<ClusterNode | null> {
      const next = await transition(n, ['pending'], 'inservice', 'reporting');
      if (!next) return null;
      log.info({ address: n.address, group: n.group, role: n.role }, 'node in service');
      await saveRelations(newRelationsFor(next, d.view, d.clock.now()), d.view, d.store);
      return next;
    },

    /** No new clients; terminated when empty or after the drain timeout (by the autoscaler). */
    async drain(address: string, reason: string, data: Record<string, unknown> = {}): Promise<boolean> {
      const n = d.view.nodes.get(address);
      if (!n) return false;
      const next = await transition(n, ['inservice', 'pending'], 'draining', reason);
      if (!next) return false;
      await d.events.record({ group: n.group, kind: 'drain', role: n.role, node: address, reason, data });
      return true;
    },

    /** Load came back before the drain ended: keeping the node is cheaper than launching one. */
    async cancelDrain(address: string, reason: string, data: Record<string, unknown> = {}): Promise<boolean> {
      const n = d.view.nodes.get(address);
      if (!n) return false;
      const next = await transition(n, ['draining'], 'inservice', reason);
      if (!next) return false;
      await d.events.record({ group: n.group, kind: 'drain-cancelled', role: n.role, node: address, reason, data });
      return true;
    },

    async terminate(address: string, opts: TerminateOptions): Promise<boolean> {
      const n = d.view.nodes.get(address);
      if (!n || n.state === 'terminated') return false;
      const next = await transition(n, ['pending', 'inservice', 'draining', 'terminating'], 'terminating', opts.reason);
      if (!next) return false;
      const now = d.clock.now();
      await releaseChildren(address, d.view, d.store, now);
      await dropParentLinks(address, d.view, d.store);
      d.onNodeGone?.(address);
      try {
        await d.cloud.terminate(n.identifier, opts.cloudReason);
      } catch (err) {
        log.warn({ err, address, identifier: n.identifier }, 'cloud termination failed; the row is removed anyway');
      }
      if (opts.keepRow) {
        await transition(next, ['terminating'], 'terminated', opts.reason);
        d.view.setNodeStreams(address, []);
        await d.store.replaceNodeStreams(address, []);
      } else {
        await d.store.deleteNode(address);
        d.view.removeNode(address);
      }
      await d.events.record({ group: n.group, kind: opts.kind ?? 'terminate', role: n.role, node: address, reason: opts.reason, data: opts.data ?? {} });
      return true;
    },
  };
}
