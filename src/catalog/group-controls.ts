import { randomUUID } from 'node:crypto';
import type { GroupSettings, Schedule } from '../domain/types.ts';
import { MAX_SCHEDULES_PER_GROUP, pauseBodySchema, scheduleBodySchema, settingsOrDefault } from '../domain/autoscale-controls.ts';
import type { ClusterStore } from '../store/cluster-store.ts';
import type { Clock } from '../lib/clock.ts';
import { badRequest, conflict, describeZodIssues, notFound } from '../lib/errors.ts';
import { deepFreeze } from '../lib/deep-freeze.ts';
import { createSerial } from '../lib/serial.ts';

/**
 * Pause and schedules per group, kept in the store (so they survive restarts and every manager applies
 * the same ones) and cached for the autoscaler, which reads them synchronously every tick. Group
 * existence is checked by the caller (routes resolve the group first).
 */
export interface GroupControls {
  of(group: string): GroupSettings;
  /** Groups with a pause in force (metrics). */
  pausedGroups(): string[];
  setPause(group: string, body: unknown): Promise<GroupSettings>;
  addSchedule(group: string, body: unknown): Promise<Schedule>;
  updateSchedule(group: string, id: string, body: unknown): Promise<Schedule>;
  deleteSchedule(group: string, id: string): Promise<Schedule>;
  reload(): Promise<void>;
}

function parsed<T>(r: { success: true; data: T } | { success: false; error: { issues: { path: (string | number)[]; message: string }[] } }): T {
  if (!r.success) throw badRequest(`Invalid body: ${describeZodIssues(r.error.issues)}`, 'SM_VALIDATION');
  return r.data;
}

export async function createGroupControls(deps: { store: ClusterStore; clock: Clock }): Promise<GroupControls> {
  const { store, clock } = deps;
  let cache = new Map<string, GroupSettings>();
  // One change at a time, each on the store's latest document: another manager may have written since our reload.
  const serial = createSerial();

  async function load() {
    const rows = await store.listGroupSettings();
    cache = new Map(rows.map((r) => [r.group, deepFreeze(r.settings)]));
  }

  const change = (group: string, fn: (cur: GroupSettings) => GroupSettings) =>
    serial(async () => {
      await load();
      const next = fn(settingsOrDefault(cache.get(group)));
      await store.saveGroupSettings(group, next, clock.now());
      cache.set(group, deepFreeze(next));
      return next;
    });

  const scheduleOf = (s: GroupSettings, group: string, id: string) => {
    const found = s.schedules.find((x) => x.id === id);
    if (!found) throw notFound(`Group ${group} has no schedule ${id}.`);
    return found;
  };

  await load();
  return {
    of: (group) => settingsOrDefault(cache.get(group)),
    pausedGroups: () => [...cache].filter(([, s]) => s.paused).map(([g]) => g),
    setPause(group, body) {
      const b = parsed(pauseBodySchema.safeParse(body));
      return change(group, (cur) => ({ ...cur, paused: b.paused, replaceDead: b.replaceDead ?? (b.paused ? cur.replaceDead : true) }));
    },
    async addSchedule(group, body) {
      const s: Schedule = { id: randomUUID().slice(0, 8), ...parsed(scheduleBodySchema.safeParse(body)) };
      await change(group, (cur) => {
        if (cur.schedules.length >= MAX_SCHEDULES_PER_GROUP) throw conflict(`Group ${group} already has ${MAX_SCHEDULES_PER_GROUP} schedules; delete one first.`);
        return { ...cur, schedules: [...cur.schedules, s] };
      });
      return s;
    },
    async updateSchedule(group, id, body) {
      const s: Schedule = { id, ...parsed(scheduleBodySchema.safeParse(body)) };
      await change(group, (cur) => {
        scheduleOf(cur, group, id);
        return { ...cur, schedules: cur.schedules.map((x) => (x.id === id ? s : x)) };
      });
      return s;
    },
    async deleteSchedule(group, id) {
      let gone: Schedule | undefined;
      await change(group, (cur) => {
        gone = scheduleOf(cur, group, id);
        return { ...cur, schedules: cur.schedules.filter((x) => x.id !== id) };
      });
      return gone!;
    },
    reload: () => serial(load),
  };
}
