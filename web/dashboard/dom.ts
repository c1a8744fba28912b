/** Tiny DOM builders. Text always goes in as text nodes (never innerHTML): cluster data cannot inject markup. */

export type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

function fill(el: Element, attrs: Attrs | undefined, children: Child[]) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'object' ? c : String(c));
}

export function h(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  fill(el, attrs, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag: string, attrs?: Attrs, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  fill(el, attrs, children);
  return el;
}

export function table(cls: string, headers: string[], rows: HTMLElement[], empty: string): HTMLElement {
  if (!rows.length) return h('p', { class: `muted empty ${cls}` }, empty);
  return h('table', { class: cls }, h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))), h('tbody', {}, ...rows));
}

export const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Manager time as a wall clock, and its age against the manager's `now`. */
export function clockTime(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export const pct = (x: number | null) => (x === null ? '∞' : `${x}%`);
