import type { GroupSettings, Schedule } from '../domain/types.ts';
import { activeWindow } from '../domain/autoscale-controls.ts';
import type { AutoscalerMemory } from './memory.ts';
import type { EventItem, Snapshot } from './types.ts';

export type ControlsOf = (group: string) => GroupSettings;

export interface ActiveWindow {
  group: string;
  schedule: Schedule;
  start: number;
  end: number;
}

/** Memory note key of a schedule's current window (value: the window start; '' once it ended). */
const noteKey = (group: string, id: string) => `${group}\u0000schedule\u0000${id}`;
const NOTE_PREFIX = '\u0000schedule\u0000';

/**
 * Puts every schedule window open at `now` into the snapshot: the role's target gets the window's
 * minLimit/maxLimit (a copy: targets are shared catalog documents). Several windows on one role: the
 * highest minLimit and the highest maxLimit win (for live video, more room is the safe side). A window's
 * minLimit above the policy's maxLimit raises maxLimit with it, and a maxLimit below minLimit lowers
 * minLimit, so the operator's intent holds. Pure except for the snapshot it is given.
 */
export function applySchedules(snapshot: Snapshot, controlsOf: ControlsOf, now: number): ActiveWindow[] {
  const active: ActiveWindow[] = [];
  for (const g of snapshot.groups) {
    const { schedules } = controlsOf(g.name);
    if (!schedules.length) continue;
    const open: ActiveWindow[] = [];
    for (const schedule of schedules) {
      const w = activeWindow(schedule, now);
      if (w) open.push({ group: g.name, schedule, ...w });
    }
    active.push(...open);
    for (const r of g.roles) {
      const mine = open.filter((w) => w.schedule.role === r.role && (w.schedule.region === undefined || w.schedule.region === r.region));
      if (!mine.length) continue;
      const mins = mine.flatMap((w) => (w.schedule.minLimit === undefined ? [] : [w.schedule.minLimit]));
      const maxs = mine.flatMap((w) => (w.schedule.maxLimit === undefined ? [] : [w.schedule.maxLimit]));
      let minLimit = mins.length ? Math.max(...mins) : r.target.minLimit;
      let maxLimit = maxs.length ? Math.max(...maxs) : r.target.maxLimit;
      if (mins.length && minLimit > maxLimit) maxLimit = minLimit;
      if (maxs.length && !mins.length && maxLimit < minLimit) minLimit = maxLimit;
      r.target = { ...r.target, minLimit, maxLimit };
    }
  }
  return active;
}

/** One `schedule` event when a window opens and one when it closes (or its schedule is deleted). */
export function planScheduleEvents(snapshot: Snapshot, active: readonly ActiveWindow[], memory: AutoscalerMemory, controlsOf: ControlsOf): EventItem[] {
  const out: EventItem[] = [];
  const open = new Set<string>();
  const iso = (t: number) => new Date(t).toISOString();
  for (const w of active) {
    const key = noteKey(w.group, w.schedule.id);
    open.add(key);
    if (memory.notes.get(key) === String(w.start)) continue;
    const s = w.schedule;
    const limits = [s.minLimit !== undefined ? `minLimit ${s.minLimit}` : '', s.maxLimit !== undefined ? `maxLimit ${s.maxLimit}` : ''].filter(Boolean).join(', ');
    out.push(event(w.group, s, `Schedule ${s.label ?? s.id} started: ${s.role} ${limits}${s.region ? ` in ${s.region}` : ''} until ${iso(w.end)}.`, { window: 'start', start: w.start, end: w.end }, { key, value: String(w.start) }));
  }
  for (const g of snapshot.groups) {
    const byId = new Map(controlsOf(g.name).schedules.map((s) => [s.id, s]));
    for (const [key, value] of memory.notes) {
      if (value === '' || open.has(key) || !key.startsWith(g.name + NOTE_PREFIX)) continue;
      const id = key.slice(g.name.length + NOTE_PREFIX.length);
      const s = byId.get(id);
      const reason = s ? `Schedule ${s.label ?? s.id} ended: ${s.role} limits are the scale policy's again.` : `Schedule ${id} was deleted: the scale policy's limits apply again.`;
      out.push({ kind: 'event', eventKind: 'schedule', rule: 'schedule', group: g.name, role: s?.role ?? null, node: null, reason, data: { schedule: id, window: 'end', start: Number(value) }, note: { key, value: '' } });
    }
  }
  return out;
}

function event(group: string, s: Schedule, reason: string, data: Record<string, unknown>, note: { key: string; value: string }): EventItem {
  return { kind: 'event', eventKind: 'schedule', rule: 'schedule', group, role: s.role, node: null, reason, data: { schedule: s.id, role: s.role, region: s.region ?? null, minLimit: s.minLimit ?? null, maxLimit: s.maxLimit ?? null, ...data }, note };
}
