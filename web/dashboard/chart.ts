import { s, clockTime } from './dom.ts';
import type { Group, ScaleEvent } from './types.ts';

/** One poll of a group: per (region, role) load, threshold and node count, at the manager's time. */
export interface Sample {
  t: number;
  roles: Record<string, { load: number | null; threshold: number; nodes: number }>;
}

const MAX_SAMPLES = 720;
const W = 640;
const H = 180;
const PAD = { l: 36, r: 30, t: 8, b: 20 };
export const ROLE_COLORS: Record<string, string> = { origin: '#d9822b', edge: '#2b7bd9', relay: '#8e44ad', transcoder: '#16a085' };
const EVENT_COLORS: Record<string, string> = { launch: '#2e9d4f', terminate: '#c0392b', drain: '#e67e22', dead: '#7f0000', refused: '#b8860b', 'launch-failed': '#b8860b' };

export const seriesKey = (region: string, role: string) => `${region}/${role}`;

/** Keeps the load history the page has seen (the manager keeps only the scale events). */
export class History {
  private readonly byGroup = new Map<string, Sample[]>();

  add(g: Group, t: number) {
    const roles: Sample['roles'] = {};
    for (const r of g.roles) roles[seriesKey(r.region, r.role)] = { load: r.loadPct, threshold: r.threshold, nodes: r.inservice + r.pending + r.launching };
    let list = this.byGroup.get(g.name);
    if (!list) this.byGroup.set(g.name, (list = []));
    // The manager's clock did not move (or went back after a restart): the latest read wins.
    while (list.length && list[list.length - 1].t >= t) list.pop();
    list.push({ t, roles });
    if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
  }

  of(group: string): Sample[] {
    return this.byGroup.get(group) ?? [];
  }

  keep(groups: Set<string>) {
    for (const g of this.byGroup.keys()) if (!groups.has(g)) this.byGroup.delete(g);
  }
}

/**
 * Load % per role (solid) against its alarm threshold (dashed) on the left axis, nodes counted for the
 * policy limits (thin steps) on the right axis, and each scale event as a marked vertical line whose
 * tooltip is the decision's reason.
 */
export function loadChart(g: Group, samples: Sample[], events: ScaleEvent[], now: number): SVGElement {
  const keys = g.roles.map((r) => seriesKey(r.region, r.role));
  const first = Math.min(samples[0]?.t ?? now, ...events.map((e) => e.at));
  const t0 = first < now ? first : now - 60_000;
  const span = Math.max(1, now - t0);
  let maxLoad = 100;
  let maxNodes = 1;
  for (const p of samples) {
    for (const k of keys) {
      const v = p.roles[k];
      if (!v) continue;
      if (v.load !== null) maxLoad = Math.max(maxLoad, Math.min(v.load, 1000));
      maxNodes = Math.max(maxNodes, v.nodes);
    }
  }
  const x = (t: number) => PAD.l + ((t - t0) / span) * (W - PAD.l - PAD.r);
  const yLoad = (v: number | null) => PAD.t + (1 - Math.min(v ?? maxLoad, maxLoad) / maxLoad) * (H - PAD.t - PAD.b);
  const yNodes = (n: number) => PAD.t + (1 - n / maxNodes) * (H - PAD.t - PAD.b);
  const line = (pts: [number, number][]) => pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
  // A single sample still draws a line: extend it to `now`.
  const ext = (pts: [number, number][]) => (pts.length === 1 ? [pts[0], [x(now), pts[0][1]] as [number, number]] : pts);

  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Load of ${g.name} against the alarm threshold` });
  svg.append(s('rect', { x: PAD.l, y: PAD.t, width: W - PAD.l - PAD.r, height: H - PAD.t - PAD.b, class: 'plot' }));
  for (const v of [0, maxLoad / 2, maxLoad]) {
    svg.append(s('line', { x1: PAD.l, x2: W - PAD.r, y1: yLoad(v), y2: yLoad(v), class: 'grid' }));
    svg.append(s('text', { x: PAD.l - 4, y: yLoad(v) + 4, class: 'axis', 'text-anchor': 'end' }, `${Math.round(v)}%`));
  }
  svg.append(s('text', { x: W - PAD.r + 4, y: yNodes(maxNodes) + 4, class: 'axis' }, `${maxNodes}n`));
  svg.append(s('text', { x: W - PAD.r + 4, y: yNodes(0) + 4, class: 'axis' }, '0n'));
  svg.append(s('text', { x: PAD.l, y: H - 4, class: 'axis' }, clockTime(t0)));
  svg.append(s('text', { x: W - PAD.r, y: H - 4, class: 'axis', 'text-anchor': 'end' }, clockTime(now)));

  for (const r of g.roles) {
    const k = seriesKey(r.region, r.role);
    const color = ROLE_COLORS[r.role] ?? '#555';
    const pts = samples.filter((p) => p.roles[k]);
    if (!pts.length) continue;
    const steps: [number, number][] = [];
    for (const [i, p] of pts.entries()) {
      if (i) steps.push([x(p.t), yNodes(pts[i - 1].roles[k].nodes)]);
      steps.push([x(p.t), yNodes(p.roles[k].nodes)]);
    }
    const common = { fill: 'none', stroke: color, 'data-series': k };
    svg.append(s('polyline', { ...common, class: 'nodes', points: line(ext(steps)) }));
    svg.append(s('polyline', { ...common, class: 'threshold', points: line(ext(pts.map((p) => [x(p.t), yLoad(p.roles[k].threshold)]))) }));
    svg.append(s('polyline', { ...common, class: 'load', points: line(ext(pts.map((p) => [x(p.t), yLoad(p.roles[k].load)]))) }));
  }

  for (const e of events) {
    if (e.at < t0 || e.at > now) continue;
    const color = EVENT_COLORS[e.kind] ?? '#777';
    const at = x(e.at);
    const mark = s('g', { class: 'event-mark', 'data-kind': e.kind }, s('title', {}, `${clockTime(e.at)} ${e.kind}${e.role ? ` ${e.role}` : ''}${e.node ? ` ${e.node}` : ''}: ${e.reason}`));
    mark.append(s('line', { x1: at, x2: at, y1: PAD.t, y2: H - PAD.b, stroke: color, class: 'event-line' }));
    const load = typeof e.data.loadPct === 'number' ? e.data.loadPct : null;
    mark.append(s('circle', { cx: at, cy: load === null ? PAD.t + 4 : yLoad(load), r: 4, fill: color }));
    svg.append(mark);
  }
  return svg;
}
