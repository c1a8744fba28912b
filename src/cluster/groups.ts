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

export const createGroupSchema = z
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
export const smartCreateSchema = z
  .object({
    region: smartRegionList,
    launchConfig: nameSchema,
    scalePolicy: nameSchema,
    name: nameSchema.optional(),
    baseCapacity: lenientInt({ min: 0, default: 0 }),
  })
  .strip();

/** G5 */
export const resizeSchema = z.object({ region: smartRegionList }, { invalid_type_error: 'must be a JSON object {"region": [...]}' }).strip();

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
    throw badRequest(`${field}: launch configuration ${lc.name} has no ${missing.join(' or ')} target; smart create and resize (region[].info) work on origin+edge groups only.`);
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

  /**
   * G10: launches an origin (resolves once the cloud acknowledged it). The first origin initialises
   * the group: every role's minLimit is launched with it, in the background.
   */
  async function launchOrigin(name: string): Promise<ClusterNode> {
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
  }

  async function insertGroup(g: Pick<NodeGroup, 'name' | 'regions' | 'launchConfig' | 'scalePolicy' | 'baseCapacity'>): Promise<NodeGroup> {
    const stored = await d.store.createGroup({ ...g, state: 'new', timestamp: d.clock.now() });
    d.view.setGroup(stored);
    log.info({ group: g.name }, 'node group created');
    return stored;
  }

  /** Sizing inputs of G2/G5: the launch config's origin and edge capacities and the edge scale-out threshold. */
  function capacitiesOf(lc: LaunchConfig, field: string) {
    return { ...smartCapacities(lc, field), edgeThreshold: d.catalog.threshold('edge') };
  }

  /** Undo steps of a refused smart create: logged, never thrown (the caller answers the original error). */
  async function undo(what: string, fn: () => Promise<unknown>) {
    try {
      await fn();
    } catch (err) {
      log.error({ err }, `smart group creation failed and ${what} could not be undone; delete it by hand`);
    }
  }

  /**
   * G2: derives origin and edge limits per region from the publisher/subscriber ranges
   * (domain/group-sizing.ts), writes them as a new 0.0.3 scale policy, then creates the group on it.
   * Everything is checked before anything is written; a failure after the policy was written removes it
   * again (and the group, when the autoinit origin fails).
   */
  async function createSmart(body: object, opts: { autoinit?: boolean }): Promise<NodeGroup> {
    const b = parseBody(smartCreateSchema, body);
    const unknownRegions = b.region.flatMap((r, i) => (d.cloud.regions.includes(r.name) ? [] : [`region[${i}].name: ${r.name} is not configured`]));
    if (unknownRegions.length) throw badRequest(`${unknownRegions.join('; ')}; configured regions: ${d.cloud.regions.join(', ')} (managed.regionNames).`);
    const lc = d.catalog.launchConfig(b.launchConfig);
    if (!lc) throw badRequest(`launchConfig: no launch configuration named ${b.launchConfig}.`);
    const caps = capacitiesOf(lc, 'launchConfig');
    if (d.catalog.scalePolicy(b.scalePolicy)) {
      throw conflict(
        `scalePolicy: a scale policy named ${b.scalePolicy} already exists; smart group creation (region[].info) writes a new policy, so choose a new name ` +
          '(or create the group with {"regions": [...]} to use the existing policy).',
      );
    }
    const name = b.name ?? `group-${randomUUID()}`;
    if (d.view.groups.has(name)) throw conflict(`A node group named ${name} already exists.`);

    const sized = b.region.map((r) => ({ name: r.name, info: r.info, size: sizeGroupRegion(r.info, caps) }));
    const doc = {
      policy: {
        name: b.scalePolicy,
        description: (
          `Derived by smart creation of node group ${name} (origin capacity ${caps.originCapacity}, edge capacity ${caps.edgeCapacity}, ` +
          `edge threshold ${caps.edgeThreshold}%): ${sized.map((r) => `${r.name} ${describeInfo(r.info)}`).join('; ')}`
        ).slice(0, 4000),
        type: REGIONAL_POLICY_TYPE,
        version: '0.0.3',
        targets: {
          // `default` (regions the policy does not list) copies the first region's rules.
          region: [{ name: DEFAULT_REGION, target: sizedBlock(sized[0]!.size) }, ...sized.map((r) => ({ name: r.name, target: sizedBlock(r.size) }))],
        },
      },
    };
    parseScalePolicy(doc); // the catalog parses it again; a 400 here leaves nothing written

    await d.catalog.createScalePolicy(doc);
    let g: NodeGroup;
    try {
      g = await insertGroup({ name, regions: sized.map((r) => r.name), launchConfig: lc.name, scalePolicy: b.scalePolicy, baseCapacity: b.baseCapacity });
    } catch (err) {
      await undo(`scale policy ${b.scalePolicy}`, () => d.catalog.deleteScalePolicy(b.scalePolicy));
      throw err;
    }
    log.info({ group: name, policy: b.scalePolicy, sizes: sized.map((r) => ({ region: r.name, ...r.size })) }, 'smart node group sized');
    if (opts.autoinit) {
      try {
        await launchOrigin(name);
      } catch (err) {
        log.warn({ err: (err as Error).message, group: name }, 'autoinit origin launch failed; removing the smart group and its policy');
        await undo(`node group ${name}`, () => drainAndDelete(g));
        await undo(`scale policy ${b.scalePolicy}`, () => d.catalog.deleteScalePolicy(b.scalePolicy));
        throw err;
      }
    }
    return d.view.groups.get(name) ?? g;
  }

  /**
   * G5: recomputes the origin and edge limits of existing regions of an origin+edge group with the G2
   * formula and rewrites them in the group's policy (every other field kept). A 0.0.2 policy becomes
   * 0.0.3 with its flat list as `default`, so regions not resized keep their rules. The autoscaler reads
   * the catalog every tick and applies the new limits on its next one.
   */
  async function resize(name: string, body: unknown): Promise<NodeGroup> {
    const g = get(name);
    if (g.state === 'deleting') throw badRequest(`Node group ${name} is being deleted.`);
    const b = parseBody(resizeSchema, body);
    const foreign = b.region.flatMap((r, i) => (g.regions.includes(r.name) ? [] : [`region[${i}].name: ${r.name} is not a region of node group ${name}`]));
    if (foreign.length) throw badRequest(`${foreign.join('; ')}; its regions: ${g.regions.join(', ')}. Resize changes existing regions only.`);
    const lc = d.catalog.launchConfig(g.launchConfig);
    if (!lc) throw notFound(`Launch configuration ${g.launchConfig} of group ${name} does not exist.`);
    const caps = capacitiesOf(lc, `launchConfig of node group ${name}`);
    const policy = d.catalog.scalePolicy(g.scalePolicy);
    if (!policy) throw notFound(`Scale policy ${g.scalePolicy} of group ${name} does not exist.`);
    const otherRoles = new Set<Role>();
    for (const r of g.regions) for (const [role, t] of policyTargets(policy, r)) if (role !== 'origin' && role !== 'edge' && t.maxLimit > 0) otherRoles.add(role);
    if (otherRoles.size) {
      throw badRequest(`Node group ${name} runs ${[...otherRoles].join(' and ')} nodes (scale policy ${policy.name}); resize works on origin+edge groups only.`);
    }
    const sharers = [...d.view.groups.values()].filter((x) => x.scalePolicy === policy.name && x.name !== name).map((x) => x.name);
    if (sharers.length) {
      throw conflict(`Scale policy ${policy.name} of node group ${name} is also used by node group(s) ${sharers.join(', ')}; resizing ${name} would resize them too. Edit the policy with PUT instead.`);
    }

    const copy = structuredClone(policy) as ScalePolicy; // the cached document is frozen
    const blocks = copy.targets.region ?? [{ name: DEFAULT_REGION, target: copy.targets.target ?? [] }];
    const sizes: Array<{ region: string } & GroupSize> = [];
    for (const r of b.region) {
      const size = sizeGroupRegion(r.info, caps);
      sizes.push({ region: r.name, ...size });
      const i = blocks.findIndex((x) => x.name === r.name);
      const base = i >= 0 ? blocks[i]!.target : (blocks.find((x) => x.name === DEFAULT_REGION)?.target ?? []);
      const block = { name: r.name, target: resizeBlock(base, size) };
      if (i >= 0) blocks[i] = block;
      else blocks.push(block);
    }
    await d.catalog.updateScalePolicy(policy.name, {
      policy: {
        name: policy.name,
        description: copy.description,
        type: copy.type || REGIONAL_POLICY_TYPE,
        version: '0.0.3',
        targets: { region: blocks },
      },
    });
    log.info({ group: name, policy: policy.name, sizes }, 'node group resized');
    return get(name);
  }

  return {
    list(): NodeGroup[] {
      return [...d.view.groups.values()].sort((a, b) => a.id - b.id);
    },

    get,

    /**
     * G1 (`regions[]`), or G2 smart create when the body has `region[]` instead: see createSmart.
     * `autoinit` applies to the smart form only (as in the classic product).
     */
    async create(body: unknown, opts: { autoinit?: boolean } = {}): Promise<NodeGroup> {
      if (isSmartGroupBody(body)) return createSmart(body, opts);
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
      return insertGroup({ name, regions: b.regions, launchConfig: b.launchConfig, scalePolicy: b.scalePolicy, baseCapacity: b.baseCapacity });
    },

    resize,

    launchOrigin,

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

/** G2 and G1 bodies are told apart by shape: `region[]` (smart) vs `regions[]` (reference §2.1). */
export function isSmartGroupBody(body: unknown): body is { region: unknown } {
  return !!body && typeof body === 'object' && 'region' in body && !('regions' in body);
}

function describeInfo(i: SizingInfo): string {
  return `publishers ${i.minPublishers}..${i.maxPublishers}, subscribers ${i.minSubscribers}..${i.maxSubscribers}`;
}
