import { z } from 'zod';
import { CronExpressionParser } from 'cron-parser';
import { ROLES, type GroupSettings, type Schedule } from './types.ts';

/** Longest window a schedule may hold a role's limits for (a week: the longest useful recurring period). */
export const MAX_WINDOW_MS = 7 * 24 * 3600_000;
export const MAX_SCHEDULES_PER_GROUP = 100;

export const pauseBodySchema = z.object({
  paused: z.boolean({ required_error: 'is required (true or false)', invalid_type_error: 'must be true or false' }),
  replaceDead: z.boolean({ invalid_type_error: 'must be true or false' }).optional(),
});

const limit = z.number().int('must be a whole number').min(0, 'must not be negative').max(1000, 'must be at most 1000');
const instant = z.union([z.number().int().min(0), z.string().datetime({ offset: true, message: 'must be epoch ms or an ISO 8601 date-time' })]).transform((v) => (typeof v === 'number' ? v : Date.parse(v)));

function cronError(expr: string, tz: string | undefined): string | null {
  try {
    CronExpressionParser.parse(expr, { tz: tz ?? 'UTC', currentDate: new Date(0) }).next();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** A schedule as the admin API takes it (POST/PUT …/nodegroup/{group}/schedule). */
export const scheduleBodySchema = z
  .object({
    role: z.enum(ROLES, { errorMap: () => ({ message: `must be one of ${ROLES.join(', ')}` }) }),
    region: z.string().min(1).max(254).optional(),
    minLimit: limit.optional(),
    maxLimit: limit.optional(),
    cron: z.string().min(1).max(200).optional(),
    timezone: z.string().min(1).max(64).optional(),
    durationMs: z.number().int().min(60_000, 'must be at least 60000 (one minute)').max(MAX_WINDOW_MS, `must be at most ${MAX_WINDOW_MS} (a week)`).optional(),
    durationMinutes: z.number().int().min(1).max(MAX_WINDOW_MS / 60_000).optional(),
    start: instant.optional(),
    end: instant.optional(),
    label: z.string().max(254).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message });
    if (s.minLimit === undefined && s.maxLimit === undefined) issue('minLimit', 'a schedule sets minLimit, maxLimit or both');
    if (s.minLimit !== undefined && s.maxLimit !== undefined && s.minLimit > s.maxLimit) issue('minLimit', 'must not exceed maxLimit');
    if (s.cron !== undefined) {
      if (s.start !== undefined || s.end !== undefined) issue('cron', 'a schedule is either recurring (cron + durationMs) or once (start + end), not both');
      if (s.durationMs === undefined && s.durationMinutes === undefined) issue('durationMs', 'is required with cron (how long each window lasts)');
      const err = cronError(s.cron, s.timezone);
      if (err) issue(s.timezone && /timestamp|zone/i.test(err) ? 'timezone' : 'cron', `is not valid: ${err}`);
    } else {
      if (s.start === undefined || s.end === undefined) issue(s.start === undefined ? 'start' : 'end', 'is required (or give cron + durationMs)');
      else if (s.end <= s.start) issue('end', 'must be after start');
      else if (s.end - s.start > 366 * 24 * 3600_000) issue('end', 'a one-off window lasts at most a year');
      if (s.timezone !== undefined) issue('timezone', 'only applies to cron schedules');
    }
  })
  .transform(({ durationMinutes, ...s }): Omit<Schedule, 'id'> => ({ ...s, ...(durationMinutes !== undefined && s.durationMs === undefined ? { durationMs: durationMinutes * 60_000 } : {}) }));

/** The window of `s` that contains `now`, if any ([start, end) in epoch ms). Pure. */
export function activeWindow(s: Schedule, now: number): { start: number; end: number } | null {
  if (s.cron === undefined) return s.start !== undefined && s.end !== undefined && s.start <= now && now < s.end ? { start: s.start, end: s.end } : null;
  try {
    // The last start at or before now: cron-parser's prev() is strictly before currentDate, hence +1 ms.
    const start = CronExpressionParser.parse(s.cron, { tz: s.timezone ?? 'UTC', currentDate: new Date(now + 1) }).prev().getTime();
    const end = start + (s.durationMs ?? 0);
    return start <= now && now < end ? { start, end } : null;
  } catch {
    return null; // validated at write time; a zone database change must not stop the autoscaler
  }
}

/** Copy-on-write helper: the document a store keeps for a group with no controls yet. */
export const settingsOrDefault = (s: GroupSettings | undefined): GroupSettings => s ?? { paused: false, replaceDead: true, schedules: [] };
