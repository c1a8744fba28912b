import { z } from 'zod';
import { badRequest } from './errors.ts';

/**
 * The one name rule (design §2) for group, launch-config, policy, scope and stream names. Names end up in
 * URLs, file names and varchar(255) columns, so a name that does not fit, or that no normal URL can address
 * (a `.` or `..` segment, an empty segment, control characters), is refused with a 400 naming the field and
 * the rule, before anything is stored. Every route, the broker and the node report validator use it.
 */
export const NAME_MAX = 254;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export interface NameOptions {
  /** Scopes (`live/room1`) hold `/`; every other name has none. */
  slashes?: boolean;
  /** A narrower character set on top of the rule (catalog names), with the message that explains it. */
  pattern?: [RegExp, string];
}

/** Why `value` breaks the rule, or null. */
export function nameProblem(value: string, o: NameOptions = {}): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > NAME_MAX) return `must be at most ${NAME_MAX} characters (got ${value.length})`;
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (!o.slashes && value.includes('/')) return "must not contain '/'";
  // Only names with a dot or a double slash can hold a bad segment: the hot path skips the split.
  if (value.includes('.') || value.includes('//')) {
    for (const seg of value.split('/')) {
      if (seg === '.' || seg === '..') return "must not be or contain a '.' or '..' segment";
      if (seg === '') return "must not contain an empty segment ('//')";
    }
  }
  if (o.pattern && !o.pattern[0].test(value)) return o.pattern[1];
  return null;
}

/** Throws the 400 for a bad name: `Invalid <field> "<…>": <rule>.` */
export function checkName(field: string, value: string, o?: NameOptions): void {
  const p = nameProblem(value, o);
  if (p) throw badRequest(`Invalid ${field}: ${p}.`, 'SM_VALIDATION');
}

/** The rule as a zod refinement. */
export const nameRule = (o?: NameOptions) => (v: string, ctx: z.RefinementCtx) => {
  const p = nameProblem(v, o);
  if (p) ctx.addIssue({ code: z.ZodIssueCode.custom, message: p });
};

const text = () => z.string({ required_error: 'is required', invalid_type_error: 'must be a string' });

/** Stream (and other slash-free) names. */
export const nameSchema = text().superRefine(nameRule());

/** Scopes, kept without leading/trailing slashes (`/live/` → `live`). */
export const scopeSchema = text()
  .transform((s) => s.replace(/^\/+|\/+$/g, ''))
  .superRefine(nameRule({ slashes: true }));
