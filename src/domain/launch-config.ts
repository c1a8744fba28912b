import { z } from 'zod';
import { badRequest, describeZodIssues } from '../lib/errors.ts';
import { NAME_MAX, nameRule } from '../lib/names.ts';
import { ROLES, type LaunchConfig, type LaunchTarget, type Role } from './types.ts';

/**
 * Classic launch configuration (reference §2.4, §8.1): `{launchconfig:{...}}` or the bare inner object
 * in, the normalised `LaunchConfig` out. Deployment scripts and doc templates send numbers as strings
 * (`"500"`) and terraform sends floats (`1.0`), so numbers are read leniently and served as numbers.
 */

export { NAME_MAX };
export const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

/** Group, launch-config and policy names: the one name rule (lib/names.ts), in the classic character set. */
export const nameSchema = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .superRefine(nameRule({ pattern: [NAME_PATTERN, 'may contain only letters, digits, dot, underscore and dash'] }));

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * An integer given as a number, a float with no fraction (`500.0`) or a numeric string (`"500"`).
 * Shared with the scale policy and the alarm route so every number in the catalog reads the same way.
 */
export function lenientInt(opts: { min: number; max?: number; default?: number }) {
  const range = opts.max === undefined ? `an integer ≥ ${opts.min}` : `an integer from ${opts.min} to ${opts.max}`;
  return z.unknown().transform((v, ctx): number => {
    if (v === undefined || v === null || v === '') {
      if (opts.default !== undefined) return opts.default;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `is required (${range})` });
      return z.NEVER;
    }
    let n = Number.NaN;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'string' && NUMERIC.test(v.trim())) n = Number(v.trim());
    if (!Number.isSafeInteger(n) || n < opts.min || (opts.max !== undefined && n > opts.max)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be ${range}, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return n;
  });
}

/** Roles are compared lower-cased and trimmed; anything else is refused with the list of valid ones. */
export const roleSchema = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(ROLES, { errorMap: () => ({ message: `must be one of ${ROLES.join(', ')}` }) }));

/** Optional free text: absent or null gives the default. */
const text = (fallback: string, max = 4096) =>
  z
    .string({ invalid_type_error: 'must be a string' })
    .max(max, `must be at most ${max} characters`)
    .nullish()
    .transform((s) => s ?? fallback);

const requiredText = (max = NAME_MAX) =>
  z
    .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

/** Property and meta values are strings in the classic format; scalar numbers/booleans are kept as their text. */
const scalarText = z
  .union([z.string(), z.number(), z.boolean()], { errorMap: () => ({ message: 'must be a string' }) })
  .transform(String);

const targetSchema = z.object({
  role: roleSchema,
  instanceType: requiredText(),
  connectionCapacity: lenientInt({ min: 1 }),
  image: requiredText().optional(),
});

const innerSchema = z
  .object({
    name: nameSchema,
    description: text(''),
    image: text('managed', NAME_MAX).transform((s) => s || 'managed'),
    version: text('0.0.2', 32).transform((s) => s || '0.0.2'),
    targets: z.object(
      { target: z.array(targetSchema, { required_error: 'is required', invalid_type_error: 'must be an array' }).min(1, 'needs at least one target') },
      { required_error: 'is required: {"target":[{"role","instanceType","connectionCapacity"}]}', invalid_type_error: 'must be an object' },
    ),
    properties: z
      .object({ property: z.array(z.object({ name: requiredText(), value: scalarText })).nullish() }, { invalid_type_error: 'must be an object' })
      .nullish(),
    metadata: z
      .object({ meta: z.array(z.object({ key: requiredText(), value: scalarText })).nullish() }, { invalid_type_error: 'must be an object' })
      .nullish(),
  })
  .superRefine((lc, ctx) => {
    // One target per role: the capacity and instance type of a role must be unambiguous.
    const seen = new Set<Role>();
    lc.targets.target.forEach((t, i) => {
      if (seen.has(t.role)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['targets', 'target', i, 'role'], message: `${t.role} is listed twice` });
      seen.add(t.role);
    });
  });

export interface ParseNameOptions {
  /** Name from the URL path (update): the body's name must equal it or be absent. */
  pathName?: string;
  /** Name used when the body has none (file import: the file's base name). */
  defaultName?: string;
}

/**
 * Takes `{<key>:{...}}` or the bare object; returns the inner object, whether it was wrapped, and the
 * name filled in per `opts`. Exported for the scale policy, which has the same envelope rules.
 */
export function unwrapDocument(body: unknown, key: string, opts: ParseNameOptions, what: string): { inner: unknown; root: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`Invalid ${what}: send a JSON object {"${key}":{...}}.`, 'SM_VALIDATION');
  }
  const wrapped = key in body;
  let inner = wrapped ? (body as Record<string, unknown>)[key] : body;
  const root = wrapped ? key : '';
  if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
    throw badRequest(`Invalid ${what}: ${key} must be an object.`, 'SM_VALIDATION');
  }
  const given = (inner as Record<string, unknown>).name;
  const fallback = opts.pathName ?? opts.defaultName;
  if ((given === undefined || given === null || given === '') && fallback !== undefined) inner = { ...inner, name: fallback };
  else if (opts.pathName !== undefined && given !== opts.pathName) {
    const field = root ? `${root}.name` : 'name';
    throw badRequest(`Invalid ${what}: ${field}: must equal the name in the path (${JSON.stringify(opts.pathName)}) or be left out; use copy to rename.`, 'SM_VALIDATION');
  }
  return { inner, root };
}

/** Validates and normalises a classic launch configuration; a 400 names every bad field. */
export function parseLaunchConfig(body: unknown, opts: ParseNameOptions = {}): LaunchConfig {
  const { inner, root } = unwrapDocument(body, 'launchconfig', opts, 'launch configuration');
  const r = innerSchema.safeParse(inner);
  if (!r.success) throw badRequest(`Invalid launch configuration: ${describeZodIssues(r.error.issues, root)}`, 'SM_VALIDATION');
  const v = r.data;
  // Fixed key order so stored and served documents look the same whoever wrote them.
  return {
    name: v.name,
    description: v.description,
    image: v.image,
    version: v.version,
    targets: {
      target: v.targets.target.map((t): LaunchTarget => ({
        role: t.role,
        instanceType: t.instanceType,
        connectionCapacity: t.connectionCapacity,
        ...(t.image !== undefined ? { image: t.image } : {}),
      })),
    },
    properties: { property: (v.properties?.property ?? []).map((p) => ({ name: p.name, value: p.value })) },
    metadata: { meta: (v.metadata?.meta ?? []).map((m) => ({ key: m.key, value: m.value })) },
  };
}

function targetFor(lc: LaunchConfig, role: Role): LaunchTarget | undefined {
  return lc.targets.target.find((t) => t.role === role);
}

/** Connections one node of this role takes, or null when the launch config has no target for the role. */
export function capacityFor(lc: LaunchConfig, role: Role): number | null {
  return targetFor(lc, role)?.connectionCapacity ?? null;
}

/** Instance type (simulated cloud: the provision type) for the role, or null when the role has no target. */
export function instanceTypeFor(lc: LaunchConfig, role: Role): string | null {
  return targetFor(lc, role)?.instanceType ?? null;
}

/** Image for the role: the target's own image (API 4.0) overrides the top-level one; null when no target. */
export function imageFor(lc: LaunchConfig, role: Role): string | null {
  const t = targetFor(lc, role);
  return t ? (t.image ?? lc.image) : null;
}
