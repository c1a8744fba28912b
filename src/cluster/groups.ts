import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ClusterNode, LaunchConfig, NodeGroup, PolicyTarget, Role, ScalePolicy } from '../domain/types.ts';
import { ROLES } from '../domain/types.ts';
import type { ClusterStore } from '../store/cluster-store.ts';
import type { CloudController } from '../cloud/cloud-controller.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { badRequest, conflict, notFound } from '../lib/errors.ts';
import { parse } from '../http/validate.ts';
import { capacityFor, lenientInt, nameSchema } from '../domain/launch-config.ts';
import { DEFAULT_REGION, POLICY_DEFAULTS, parseScalePolicy, policyTargets } from '../domain/scale-policy.ts';
import { sizeGroupRegion, sizingInfoSchema, type GroupSize, type SizingInfo } from '../domain/group-sizing.ts';
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

const smartRegionSchema = z.object(
  {
    name: z.string({ required_error: 'is required', invalid_type_error: 'must be a string' }).min(1, 'must not be empty').max(254, 'must be at most 254 characters'),
    info: sizingInfoSchema,
  },
  { invalid_type_error: 'must be an object {name, info}' },
);

const smartRegionList = z
  .array(smartRegionSchema, { required_error: 'is required: [{"name": ..., "info": {...}}]', invalid_type_error: 'must be an array' })
  .min(1, 'list at least one region')
  .superRefine((regions, ctx) => {
    const seen = new Set<string>();
    regions.forEach((r, i) => {
      if (typeof r?.name !== 'string') return;
      if (seen.has(r.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'name'], message: `region ${r.name} is listed twice` });
      seen.add(r.name);
    });
  });

/** G2: `region[].info` instead of `regions[]`; the policy named here is written by the manager. */
const smartCreateSchema = z
  .object({
    region: smartRegionList,
    launchConfig: nameSchema,
    scalePolicy: nameSchema,
    name: nameSchema.optional(),
    baseCapacity: lenientInt({ min: 0, default: 0 }),
  })
  .strip();

/** G5 */
const resizeSchema = z.object({ region: smartRegionList }, { invalid_type_error: 'must be a JSON object {"region": [...]}' }).strip();

/** Policy type of a 0.0.3 (region-focused) document, as the classic product writes it. */
const REGIONAL_POLICY_TYPE = 'com.red5pro.services.autoscaling.model.ScalePolicyMaster';

/** Field paths as an operator writes them: `region[0].info.maxSubscribers`. */
function fieldPath(path: (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function parseBody<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const msg = r.error.issues.map((i) => (i.path.length ? `${fieldPath(i.path)}: ${i.message}` : i.message)).join('; ');
    throw badRequest(`Invalid body: ${msg}`, 'SM_VALIDATION');
  }
  return r.data;
}

/** Origin and edge capacities of a launch config, or a 400 saying what a smart group needs. */
function smartCapacities(lc: LaunchConfig, field: string) {
  const originCapacity = capacityFor(lc, 'origin');
  const edgeCapacity = capacityFor(lc, 'edge');
  const missing = [originCapacity === null ? 'origin' : null, edgeCapacity === null ? 'edge' : null].filter(Boolean);
  if (missing.length) {
    throw badRequest(`${field}: launch configuration ${lc.name} has no ${missing.join(' or ')} target; smart groups (region[].info) are origin+edge groups and need both.`);
  }
  return { originCapacity: originCapacity!, edgeCapacity: edgeCapacity! };
}

/** One origin and one edge target of a derived policy; other fields come from `base` or the defaults. */
function sizedTarget(role: 'origin' | 'edge', limits: { minLimit: number; maxLimit: number }, base?: Partial<PolicyTarget>): Partial<PolicyTarget> {
  return {
    role,
    minLimit: limits.minLimit,
    maxLimit: limits.maxLimit,
    scaleAdjustment: base?.scaleAdjustment ?? POLICY_DEFAULTS.scaleAdjustment,
    coolDownPeriod: base?.coolDownPeriod ?? POLICY_DEFAULTS.coolDownPeriod,
    estimatedWarmUpTime: base?.estimatedWarmUpTime ?? POLICY_DEFAULTS.estimatedWarmUpTime,
    scaleInWaitTime: base?.scaleInWaitTime ?? POLICY_DEFAULTS.scaleInWaitTime,
    scaleOutWaitTime: base?.scaleOutWaitTime ?? POLICY_DEFAULTS.scaleOutWaitTime,
  };
}

function sizedBlock(size: GroupSize): Partial<PolicyTarget>[] {
  return [sizedTarget('origin', size.origin), sizedTarget('edge', size.edge)];
}

/** `block` with the origin and edge limits replaced (every other field and role kept; a missing role added). */
function resizeBlock(block: Partial<PolicyTarget>[], size: GroupSize): Partial<PolicyTarget>[] {
  const out = block.map((t) => (t.role === 'origin' || t.role === 'edge' ? sizedTarget(t.role, size[t.role], t) : { ...t }));
  for (const role of ['origin', 'edge'] as const) if (!out.some((t) => t.role === role)) out.push(sizedTarget(role, size[role]));
  return out;
}

export interface GroupServiceDeps {
  clock: Clock;
  log: Logger;
  store: ClusterStore;
  cloud: Pick<CloudController, 'regions'>;
  view: ClusterView;
  catalog: Pick<Catalog, 'launchConfig' | 'scalePolicy' | 'threshold' | 'createScalePolicy' | 'updateScalePolicy' | 'deleteScalePolicy'>;
  ops: Pick<NodeOps, 'launch' | 'launchesSettled' | 'terminate'>;
}

/** Classic node-group workflow (G1–G6, G10). */
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

  /** Rounds of termination before giving up (a launch can land between two rounds; a store can fail). */
  const DELETE_ROUNDS = 5;

  async function drainAndDelete(g: NodeGroup) {
    const left = () =>
      d.view.nodesOf(g.name).some((n) => n.state !== 'terminated') || [...d.view.launching.values()].some((l) => l.group === g.name);
    for (let round = 0; round < DELETE_ROUNDS; round++) {
      await d.ops.launchesSettled(g.name);
      for (const n of d.view.nodesOf(g.name)) {
        await d.ops
          .terminate(n.address, { reason: `group ${g.name} deleted`, cloudReason: 'group-deleted' })
          .catch((err) => log.error({ err, address: n.address }, 'could not terminate node of deleted group'));
      }
      if (!left()) {
        await d.store.deleteGroup(g.name);
        d.view.removeGroup(g.name);
        log.info({ group: g.name }, 'node group deleted');
        return;
      }
    }
    // The group stays `deleting`; DELETE again retries.
    log.error({ group: g.name, nodes: d.view.nodesOf(g.name).length }, 'group deletion incomplete; retry DELETE');
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
