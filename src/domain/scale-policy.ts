import { z } from 'zod';
import { badRequest, describeZodIssues } from '../lib/errors.ts';
import { ROLES, type PolicyTarget, type Role, type ScalePolicy } from './types.ts';
import { lenientInt, nameSchema, roleSchema, unwrapDocument, type ParseNameOptions } from './launch-config.ts';

/**
 * Classic scale policy (reference §2.5, §8.2) in both formats:
 * - 0.0.2 "standard": `targets.target[]`, one rule set for every region;
 * - 0.0.3 "region-focused": `targets.region[{name, target[]}]`, a `default` region required.
 * Stored and served in the classic shape with numbers normalised and defaults filled in, so an operator
 * reads back exactly the rules the autoscaler applies.
 */

export const POLICY_DEFAULTS = {
  scaleAdjustment: 1,
  coolDownPeriod: 180_000,
  estimatedWarmUpTime: 120_000,
  scaleInWaitTime: 0,
  scaleOutWaitTime: 0,
} as const;

/** The seed rule (seed NOTE 2, reference §8.2): no origin target means one origin per group. */
export const DEFAULT_ORIGIN_LIMITS = { minLimit: 1, maxLimit: 1 } as const;

export const DEFAULT_REGION = 'default';
const MASTER_TYPE = 'com.red5pro.services.autoscaling.model.ScalePolicyMaster';

const targetSchema = z
  .object({
    role: roleSchema,
    minLimit: lenientInt({ min: 0 }),
    maxLimit: lenientInt({ min: 0 }),
    // Not active in the classic product either (glossary), but the autoscaler honours it; 0 would never scale.
    scaleAdjustment: lenientInt({ min: 1, default: POLICY_DEFAULTS.scaleAdjustment }),
    coolDownPeriod: lenientInt({ min: 0, default: POLICY_DEFAULTS.coolDownPeriod }),
    estimatedWarmUpTime: lenientInt({ min: 0 }).optional(),
    // The shipped sample policy misspells the key; files copied from it must keep working.
    esitmatedWarmUpTime: lenientInt({ min: 0 }).optional(),
    scaleInWaitTime: lenientInt({ min: 0, default: POLICY_DEFAULTS.scaleInWaitTime }),
    scaleOutWaitTime: lenientInt({ min: 0, default: POLICY_DEFAULTS.scaleOutWaitTime }),
  })
  .transform(
    (t): PolicyTarget => ({
      role: t.role,
      minLimit: t.minLimit,
      maxLimit: t.maxLimit,
      scaleAdjustment: t.scaleAdjustment,
      coolDownPeriod: t.coolDownPeriod,
      estimatedWarmUpTime: t.estimatedWarmUpTime ?? t.esitmatedWarmUpTime ?? POLICY_DEFAULTS.estimatedWarmUpTime,
      scaleInWaitTime: t.scaleInWaitTime,
      scaleOutWaitTime: t.scaleOutWaitTime,
    }),
  );

const targetList = z
  .array(targetSchema, { required_error: 'is required', invalid_type_error: 'must be an array' })
  .min(1, 'needs at least one target')
  .superRefine((targets, ctx) => checkBlock(targets, ctx));

/** Rules inside one block of targets (the flat list, or one region). */
function checkBlock(all: PolicyTarget[], ctx: z.RefinementCtx) {
  // zod still runs this when some field failed; those targets are already reported, compare only the sound ones.
  const sound = (t: PolicyTarget) => typeof t.minLimit === 'number' && typeof t.maxLimit === 'number';
  const targets = all.map((t) => (sound(t) ? t : null));
  const seen = new Set<Role>();
  targets.forEach((t, i) => {
    if (!t) return;
    if (seen.has(t.role)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'role'], message: `${t.role} is listed twice` });
    seen.add(t.role);
    if (t.minLimit > t.maxLimit) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'minLimit'], message: `must not exceed maxLimit (${t.minLimit} > ${t.maxLimit})` });
    }
  });
  // A group always needs an origin: edges and relays link to it and the first launch is an origin.
  // An origin maxLimit of 0 would make every other role's minimum (and every edge) unreachable.
  const oi = targets.findIndex((t) => t?.role === 'origin');
  if (oi >= 0 && targets[oi]!.maxLimit < 1) {
    const waiting = targets.filter((t): t is PolicyTarget => !!t && t.role !== 'origin' && t.minLimit > 0).map((t) => `${t.role} minLimit ${t.minLimit}`);
    const why = waiting.length ? `; this policy could never satisfy ${waiting.join(', ')}` : '';
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: [oi, 'maxLimit'],
      message: `must be at least 1 for origin: every group needs an origin for its edges and relays${why} (leave the origin target out for the default of 1)`,
    });
  }
}

const regionSchema = z.object({
  name: nameSchema,
  target: targetList,
});

const innerSchema = z
  .object({
    name: nameSchema,
    description: z.string({ invalid_type_error: 'must be a string' }).max(4096).nullish(),
    type: z.string({ invalid_type_error: 'must be a string' }).max(254).nullish(),
    version: z.string({ invalid_type_error: 'must be a string' }).max(32).nullish(),
    targets: z.object(
      {
        target: targetList.optional(),
        region: z.array(regionSchema, { invalid_type_error: 'must be an array' }).min(1, 'needs at least one region').optional(),
      },
      { required_error: 'is required: {"target":[...]} (0.0.2) or {"region":[{"name":"default","target":[...]}]} (0.0.3)', invalid_type_error: 'must be an object' },
    ),
  })
  .superRefine((p, ctx) => {
    const { target, region } = p.targets;
    const version = p.version || undefined;
    if (target && region) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['targets'], message: 'use either target (version 0.0.2) or region (version 0.0.3), not both' });
    } else if (!target && !region) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['targets'], message: 'needs target (version 0.0.2) or region (version 0.0.3)' });
    } else if (region && version === '0.0.2') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['targets', 'region'], message: 'version 0.0.2 takes a flat targets.target list; set version to 0.0.3 for regions' });
    } else if (target && version === '0.0.3') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['targets', 'target'], message: 'version 0.0.3 takes targets.region[{name, target}]; set version to 0.0.2 for a flat list' });
    }
    if (region) {
      const names = new Set<string>();
      region.forEach((r, i) => {
        if (names.has(r.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['targets', 'region', i, 'name'], message: `region ${r.name} is listed twice` });
        names.add(r.name);
      });
      if (!names.has(DEFAULT_REGION)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['targets', 'region'], message: `needs a region named "${DEFAULT_REGION}" (used for every region not listed)` });
      }
    }
  });

/** Validates and normalises a classic scale policy (0.0.2 or 0.0.3); a 400 names every bad field. */
export function parseScalePolicy(body: unknown, opts: ParseNameOptions = {}): ScalePolicy {
  const { inner, root } = unwrapDocument(body, 'policy', opts, 'scale policy');
  const r = innerSchema.safeParse(inner);
  if (!r.success) throw badRequest(`Invalid scale policy: ${describeZodIssues(r.error.issues, root)}`, 'SM_VALIDATION');
  const v = r.data;
  const regional = v.targets.region !== undefined;
  const version = v.version || (regional ? '0.0.3' : '0.0.2');
  return {
    name: v.name,
    description: v.description ?? '',
    type: v.type ?? (regional ? MASTER_TYPE : ''),
    version,
    targets: regional
      ? { region: v.targets.region!.map((reg) => ({ name: reg.name, target: reg.target })) }
      : { target: v.targets.target! },
  };
}

/** Fills what a stored document may lack (written by an older or foreign writer). */
function complete(t: Partial<PolicyTarget> & { role: Role }): PolicyTarget {
  return {
    role: t.role,
    minLimit: t.minLimit ?? 0,
    maxLimit: t.maxLimit ?? t.minLimit ?? 0,
    scaleAdjustment: t.scaleAdjustment ?? POLICY_DEFAULTS.scaleAdjustment,
    coolDownPeriod: t.coolDownPeriod ?? POLICY_DEFAULTS.coolDownPeriod,
    estimatedWarmUpTime: t.estimatedWarmUpTime ?? POLICY_DEFAULTS.estimatedWarmUpTime,
    scaleInWaitTime: t.scaleInWaitTime ?? POLICY_DEFAULTS.scaleInWaitTime,
    scaleOutWaitTime: t.scaleOutWaitTime ?? POLICY_DEFAULTS.scaleOutWaitTime,
  };
}

/**
 * The rules for one region of a group: the region's block by name, else `default`; a 0.0.2 flat list
 * applies to every region. The origin is always present (seed rule: 1..1 when the policy has none);
 * other roles the policy does not list are absent (the group runs none of them).
 */
export function policyTargets(policy: ScalePolicy, region?: string): Map<Role, PolicyTarget> {
  const regions = policy.targets.region;
  let block: Partial<PolicyTarget>[] = policy.targets.target ?? [];
  if (regions) {
    const chosen = (region !== undefined ? regions.find((r) => r.name === region) : undefined) ?? regions.find((r) => r.name === DEFAULT_REGION);
    block = chosen?.target ?? [];
  }
  const out = new Map<Role, PolicyTarget>();
  for (const t of block) {
    if (t.role && (ROLES as readonly string[]).includes(t.role) && !out.has(t.role)) out.set(t.role, complete({ ...t, role: t.role }));
  }
  if (!out.has('origin')) out.set('origin', complete({ role: 'origin', ...DEFAULT_ORIGIN_LIMITS }));
  return out;
}

/**
 * The normalised per-region view named in domain/types.ts: every region block by name (0.0.3), or the
 * flat list under `default` (0.0.2, which applies to every region).
 */
export function regions(policy: ScalePolicy): Map<string, Map<Role, PolicyTarget>> {
  const names = policy.targets.region?.map((r) => r.name) ?? [DEFAULT_REGION];
  return new Map(names.map((n) => [n, policyTargets(policy, n)]));
}
