import type { AutoscalerMemory } from './memory.ts';
import type { ControlsOf } from './schedules.ts';
import type { EventItem, PlanItem, Rule } from './types.ts';

/** What a paused group still does while replaceDead is on: end dead or failed nodes and replace them. */
const HEALTH_RULES: ReadonlySet<Rule> = new Set(['dead', 'failed-launch', 'stuck-terminating', 'cluster-shutdown']);
const pausedNote = (group: string) => `${group}\u0000paused`;

const isHealth = (it: PlanItem) => (it.kind === 'terminate' && HEALTH_RULES.has(it.rule)) || (it.kind === 'launch' && it.eventKind === 'replace');

export function describeItem(it: PlanItem): string {
  switch (it.kind) {
    case 'launch':
      return `${it.eventKind} ${it.count} ${it.role} (${it.rule})`;
    case 'drain':
    case 'cancelDrain':
    case 'terminate':
      return `${it.kind} ${it.role} ${it.address} (${it.rule})`;
    case 'event':
      return `${it.eventKind} (${it.rule})`;
  }
}

/**
 * Paused groups (PUT …/nodegroup/{group}/autoscale): their launches, drains and terminations are held;
 * dead-node clean-up and replacement still run unless replaceDead is false. Events always pass. The first
 * tick that holds something in a pause episode records one `paused` event naming what was held.
 * Pure; reads memory notes only (the note is kept by applyResults, dropped by forgetResumed).
 */
export function holdPaused(items: readonly PlanItem[], controlsOf: ControlsOf, memory: AutoscalerMemory): { run: PlanItem[]; held: PlanItem[]; events: EventItem[] } {
  const run: PlanItem[] = [];
  const held: PlanItem[] = [];
  for (const it of items) {
    const c = controlsOf(it.group);
    if (!c.paused || it.kind === 'event' || (c.replaceDead && isHealth(it))) run.push(it);
    else held.push(it);
  }
  const events: EventItem[] = [];
  const byGroup = new Map<string, PlanItem[]>();
  for (const it of held) byGroup.set(it.group, [...(byGroup.get(it.group) ?? []), it]);
  for (const [group, list] of byGroup) {
    if (memory.notes.has(pausedNote(group))) continue;
    events.push({
      kind: 'event',
      eventKind: 'paused',
      rule: 'paused',
      group,
      role: null,
      node: null,
      reason: `Autoscaling of ${group} is paused: held ${list.map(describeItem).join('; ')}. Resume with PUT …/nodegroup/${group}/autoscale {"paused": false}.`,
      data: { held: list.map((it) => ({ kind: it.kind, rule: it.rule, reason: it.reason })), replaceDead: controlsOf(group).replaceDead },
      note: { key: pausedNote(group), value: '1' },
    });
  }
  return { run, held, events };
}

/** A resumed group's next pause gets its own `paused` event. */
export function forgetResumed(memory: AutoscalerMemory, groups: Iterable<string>, controlsOf: ControlsOf): void {
  for (const g of groups) if (!controlsOf(g).paused) memory.notes.delete(pausedNote(g));
}
