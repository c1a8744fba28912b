import type { ZodType, ZodTypeDef } from 'zod';
import { badRequest, describeZodIssues } from '../lib/errors.ts';

/**
 * Validates one part of a request (`body`, `query`, `params`, or a report) and returns the parsed value.
 * A failure is a 400 whose message names every bad field, so the caller can fix all of them at once.
 */
export function parse<T>(schema: ZodType<T, ZodTypeDef, unknown>, value: unknown, part: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw badRequest(`Invalid ${part}: ${describeZodIssues(r.error.issues, part === 'query' || part === 'params' ? part : '')}`, 'SM_VALIDATION');
  return r.data;
}
