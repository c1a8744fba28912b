import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ClusterNode, NodeGroup, Role } from '../domain/types.ts';
import { ROLES } from '../domain/types.ts';
import type { ClusterStore } from '../store/cluster-store.ts';
import type { CloudController } from '../cloud/cloud-controller.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { badRequest, conflict, notFound } from '../lib/errors.ts';
import { parse } from '../http/validate.ts';
import { lenientInt, nameSchema } from '../domain/launch-config.ts';
import { DEFAULT_REGION, policyTargets } from '../domain/scale-policy.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { ClusterView } from './view.ts';
import type { NodeOps } from './node-ops.ts';

const createGroupSchema = z
  .object({
    regions: z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string().min(1).max(254)).min(1, 'list at least one region')),
    launchConfig: nameSchema,
    scalePolicy: nameSchema,
    name: nameSchema.optional(),
    baseCapacity: lenientInt({ min: 0, default: 0 }),
  })
  .strip();

export interface GroupServiceDeps {
  clock: Clock;
  log: Logger;
  store: ClusterStore;
  cloud: Pick<CloudController, 'regions'>;
  view: ClusterView;
  catalog: Pick<Catalog, 'launchConfig' | 'scalePolicy'>;
  ops: Pick<NodeOps, 'launch' | 'launchesSettled' | 'terminate'>;
}

/** Classic node-group workflow (G1, G3, G4, G6, G10). */
export function createGroupService(d: GroupServiceDeps) {
  const log = d.log.child({ component: 'groups' });

  function get(name: string): NodeGroup {
    const g = d.view.groups.get(name);
    if (!g) throw notFound(`Node group ${name} does not exist.`);
    return g;
  }

  function targetsOf(g: NodeGroup, region: string) {
    const policy = d.catalog.scalePolicy(g.scalePolicy);
    if (!policy) throw notFound(`Scale policy ${g.scalePolicy} of group ${g.name} does not exist.`);
    return policyTargets(policy, region);
  }

  /** Nodes that count towards a role's size: everything not leaving, plus launches in flight. */
  function countRole(group: string, role: Role, region?: string): number {
    let n = 0;
    for (const x of d.view.nodesOf(group, role)) if ((x.state === 'pending' || x.state === 'inservice') && (!region || x.region === region)) n++;
    for (const l of d.view.launching.values()) if (l.group === group && l.role === role) n++;
    return n;
  }

  async function drainAndDelete(g: NodeGroup) {
    await d.ops.launchesSettled(g.name);
    for (const n of d.view.nodesOf(g.name)) {
      await d.ops
        .terminate(n.address, { reason: `group ${g.name} deleted`, cloudReason: 'group-deleted' })
        .catch((err) => log.error({ err, address: n.address }, 'could not terminate node of deleted group'));
    }
    // A launch may have landed between the two steps: go round until nothing is left.
    if (d.view.nodesOf(g.name).some((n) => n.state !== 'terminated') || [...d.view.launching.values()].some((l) => l.group === g.name)) {
      return drainAndDelete(g);
    }
    await d.store.deleteGroup(g.name);
    d.view.removeGroup(g.name);
    log.info({ group: g.name }, 'node group deleted');
  }

  return {
    list(): NodeGroup[] {
      return [...d.view.groups.values()].sort((a, b) => a.id - b.id);
    },

    get,

    async create(body: unknown): Promise<NodeGroup> {
      if (body && typeof body === 'object' && 'region' in body && !('regions' in body)) {
        throw badRequest('Smart group creation (region[].info) is not supported yet; send {"regions": [...], "launchConfig": ..., "scalePolicy": ...}.');
      }
      const b = parse(createGroupSchema, body, 'body');
      const unknownRegions = b.regions.filter((r) => !d.cloud.regions.includes(r));
      if (unknownRegions.length) {
        throw badRequest(`regions: ${unknownRegions.join(', ')} not configured; configured regions: ${d.cloud.regions.join(', ')} (managed.regionNames).`);
      }
      if (!d.catalog.launchConfig(b.launchConfig)) throw badRequest(`launchConfig: no launch configuration named ${b.launchConfig}.`);
      const policy = d.catalog.scalePolicy(b.scalePolicy);
      if (!policy) throw badRequest(`scalePolicy: no scale policy named ${b.scalePolicy}.`);
      const missing = (policy.targets.region ?? []).map((r) => r.name).filter((r) => r !== DEFAULT_REGION && !b.regions.includes(r));
      if (missing.length) throw badRequest(`regions: scale policy ${policy.name} has rules for ${missing.join(', ')}; list every region of the policy.`);
      const name = b.name ?? `group-${randomUUID()}`;
      if (d.view.groups.has(name)) throw conflict(`A node group named ${name} already exists.`);
      const g = await d.store.createGroup({
        name,
        regions: b.regions,
        launchConfig: b.launchConfig,
        scalePolicy: b.scalePolicy,
        state: 'new',
        baseCapacity: b.baseCapacity,
        timestamp: d.clock.now(),
      });
      d.view.setGroup(g);
      log.info({ group: name }, 'node group created');
      return g;
    },

    /**
     * G10: launches an origin (resolves once the cloud acknowledged it). The first origin initialises
     * the group: every role's minLimit is launched with it, in the background.
     */
    async launchOrigin(name: string): Promise<ClusterNode> {
      const g = get(name);
      if (g.state === 'deleting') throw badRequest(`Node group ${name} is being deleted.`);
      const first = d.view.nodesOf(name).length === 0 && ![...d.view.launching.values()].some((l) => l.group === name);
      const region = g.regions.find((r) => countRole(name, 'origin', r) < (targetsOf(g, r).get('origin')?.maxLimit ?? 1));
      if (!region) {
        const max = g.regions.map((r) => targetsOf(g, r).get('origin')?.maxLimit ?? 1).reduce((a, b) => a + b, 0);
        throw badRequest(`Node group ${name} already has ${countRole(name, 'origin')} origin(s); its scale policy allows ${max}.`);
      }
      if (g.state === 'new') {
        await d.store.setGroupState(name, 'active');
        d.view.setGroup({ ...g, state: 'active' });
      }
      const origin = await d.ops.launch(name, 'origin', { reason: first ? 'group initialised: first origin' : 'origin requested by the administrator', region });
      if (first) {
        for (const r of g.regions) {
          const targets = targetsOf(g, r);
          for (const role of ROLES) {
            const t = targets.get(role);
            if (!t) continue;
            for (let i = countRole(name, role, r); i < t.minLimit; i++) {
              d.ops
                .launch(name, role, { reason: `group initialised: ${role} minLimit ${t.minLimit}`, region: r, data: { minLimit: t.minLimit } })
                .catch((err) => log.warn({ err: (err as Error).message, group: name, role }, 'initial launch failed; the autoscaler retries'));
            }
          }
        }
      }
      return origin;
    },

    /** G6: nodes are terminated in the background; the group row goes when the last one has. */
    async remove(name: string): Promise<NodeGroup> {
      const g = get(name);
      if (g.state !== 'deleting') {
        await d.store.setGroupState(name, 'deleting');
        d.view.setGroup({ ...g, state: 'deleting' });
      }
      const deleting = { ...g, state: 'deleting' as const };
      const done = drainAndDelete(deleting).catch((err) => log.error({ err, group: name }, 'group deletion failed; retry DELETE'));
      if (!d.view.nodesOf(name).length && ![...d.view.launching.values()].some((l) => l.group === name)) await done;
      return deleting;
    },
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
