import { h, table, clockTime, duration, pct, type Child } from './dom.ts';
import { loadChart, ROLE_COLORS, type History } from './chart.ts';
import type { Group, NodeRow, Overview, Provision, RoleLoad, ScaleEvent, StreamRow } from './types.ts';

/** What the views call back into (each one asks for confirmation first). */
export interface Actions {
  setThreshold(role: string, current: number): void;
  sunset(address: string): void;
  deleteGroup(group: string): void;
  resetHost(host: string): void;
}

export interface State {
  overview: Overview;
  events: Map<string, ScaleEvent[]>;
  pool: Provision[];
  proxy: unknown[];
}

const section = (id: string, title: string, ...body: Child[]) => h('section', { id, class: 'panel' }, h('h2', {}, title), ...body);

export function signInView(onSubmit: (token: string) => void, message: string | null): HTMLElement {
  const input = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'current-password', required: true, size: 40 }) as HTMLInputElement;
  // POST and preventDefault: even without this script the token would never land in a query string.
  const form = h(
    'form',
    { id: 'signin', method: 'post', action: '' },
    h('h2', {}, 'Sign in'),
    h('p', {}, 'Enter the administrator token (rest.administratorToken). It is kept for this tab only.'),
    h('label', { for: 'token' }, 'Admin token '),
    input,
    ' ',
    h('button', { type: 'submit' }, 'Sign in'),
    message ? h('p', { class: 'error', id: 'signin-error' }, message) : null,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = input.value.trim();
    if (t) onSubmit(t);
  });
  queueMicrotask(() => input.focus());
  return form;
}

export function clusterView(st: State, history: History, act: Actions): HTMLElement[] {
  const { overview: o } = st;
  return [
    section('groups', `Node groups (${o.groups.length})`, ...(o.groups.length ? o.groups.map((g) => groupView(g, o.now, st.events.get(g.name) ?? [], history, act)) : [h('p', { class: 'muted empty' }, 'No node groups yet.')])),
    section('streams', `Live streams (${o.streams.length})`, streamsTable(o.streams)),
    section('proxy', `Proxy sessions (${st.proxy.length})`, proxyTable(st.proxy, o.now)),
    section('pool', `Simulated cloud pool (${st.pool.length})`, poolTable(st.pool, act)),
  ];
}

function groupView(g: Group, now: number, events: ScaleEvent[], history: History, act: Actions): HTMLElement {
  const targets = g.targets.map((t) => `${t.role}: ${t.instanceType} × ${t.connectionCapacity}`).join(', ');
  return h(
    'article',
    { class: 'group', 'data-group': g.name },
    h(
      'header',
      {},
      h('h3', {}, g.name),
      h('span', { class: `badge state-${g.state}` }, g.state),
      h('span', { class: 'badge' }, g.mode),
      g.paused ? h('span', { class: 'badge paused', title: 'PUT …/nodegroup/{group}/autoscale {"paused": false} resumes it' }, 'autoscaling paused') : null,
      g.state !== 'deleting' ? h('button', { type: 'button', class: 'danger', 'data-action': 'delete-group', onclick: () => act.deleteGroup(g.name) }, 'Drain & delete group') : null,
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Regions'), h('dd', {}, g.regions.join(', ')),
      h('dt', {}, 'Scale policy'), h('dd', {}, g.scalePolicy, g.policyFound ? '' : ' (missing: no scaling)'),
      h('dt', {}, 'Launch config'), h('dd', {}, `${g.launchConfig}${targets ? ` (${targets})` : ''}`),
      g.baseCapacity ? h('dt', {}, 'Base capacity') : null, g.baseCapacity ? h('dd', {}, String(g.baseCapacity)) : null,
    ),
    rolesTable(g.roles, act),
    h('div', { class: 'chart-box' }, loadChart(g, history.of(g.name), events, now), legend(g.roles)),
    h('h4', {}, `Nodes (${g.nodes.length})`),
    nodesTable(g.nodes, act),
    g.launching.length ? h('p', { class: 'muted' }, `Launching: ${g.launching.map((l) => `${l.role} in ${l.zone} for ${duration(now - l.since)}`).join(', ')}`) : null,
    h('h4', {}, 'Scale events'),
    eventsTable(events, now),
  );
}

function rolesTable(roles: RoleLoad[], act: Actions): HTMLElement {
  const rows = roles.map((r) => {
    const over = r.loadPct === null || r.loadPct > r.threshold;
    const bar = h('div', { class: `bar${over ? ' over' : ''}` });
    bar.style.width = `${Math.min(100, r.loadPct ?? 100)}%`;
    const mark = h('div', { class: 'bar-threshold' });
    mark.style.left = `${r.threshold}%`;
    return h(
      'tr',
      { class: 'role', 'data-role': r.role, 'data-region': r.region },
      h('td', {}, r.region),
      h('td', {}, r.role),
      h('td', { class: 'load' }, h('div', { class: 'meter' }, bar, mark), h('span', { class: 'load-pct' }, pct(r.loadPct)), ' ', h('span', { class: 'muted' }, `(projected ${pct(r.projectedPct)})`)),
      h('td', { class: 'threshold' }, `${r.threshold}%`),
      h('td', {}, `${r.connections} / ${r.capacity}`),
      h('td', {}, `${r.inservice} in service, ${r.pending} pending${r.launching ? `, ${r.launching} launching` : ''}${r.draining ? `, ${r.draining} draining` : ''}${r.dead ? `, ${r.dead} dead` : ''}${r.failed ? `, ${r.failed} failed` : ''}`),
      h('td', {}, `${r.minLimit}–${r.maxLimit}`),
      h('td', {}, h('button', { type: 'button', 'data-action': 'set-threshold', onclick: () => act.setThreshold(r.role, r.threshold) }, 'Set threshold…')),
    );
  });
  return table('roles', ['Region', 'Role', 'Load vs threshold', 'Alarm', 'Connections', 'Nodes', 'Min–max', ''], rows, 'The scale policy has no targets for this group.');
}

function legend(roles: RoleLoad[]): HTMLElement {
  const seen = new Set<string>();
  const items: HTMLElement[] = [];
  for (const r of roles) {
    if (seen.has(r.role)) continue;
    seen.add(r.role);
    const sw = h('span', { class: 'swatch' });
    sw.style.background = ROLE_COLORS[r.role] ?? '#555';
    items.push(h('span', {}, sw, r.role));
  }
  return h('p', { class: 'legend' }, ...items, h('span', { class: 'muted' }, 'solid: load %, dashed: alarm threshold, thin: nodes (right axis), vertical: scale events'));
}

function nodesTable(nodes: NodeRow[], act: Actions): HTMLElement {
  const rows = nodes.map((n) => {
    const late = n.reportAgeMs !== null && n.reportAgeMs > 2 * n.reportingSpeed;
    return h(
      'tr',
      { class: 'node', 'data-address': n.address },
      h('td', { class: 'address' }, `${n.address}:${n.port}`),
      h('td', { class: 'role' }, n.role),
      h('td', {}, n.availabilityZone),
      h('td', { class: 'state' }, h('span', { class: `badge state-${n.state}` }, n.state), n.stateReason ? h('span', { class: 'muted' }, ` ${n.stateReason}`) : null),
      h('td', { class: 'connections' }, `${n.load} / ${n.capacity}`, h('span', { class: 'muted' }, ` (${n.publishers} pub, ${n.subscribers} sub)`)),
      h('td', { class: `age${late ? ' late' : ''}` }, n.reportAgeMs === null ? 'never' : `${duration(n.reportAgeMs)} ago`),
      h('td', { class: 'links' }, n.parents.map((p) => `${p.address} (${p.state})`).join(', ') || '—'),
      h('td', {}, n.state === 'inservice' ? h('button', { type: 'button', 'data-action': 'sunset', onclick: () => act.sunset(n.address) }, 'Sunset…') : null),
    );
  });
  return table('nodes', ['Address', 'Role', 'Zone', 'State', 'Connections / capacity', 'Last report', 'Links (parents)', ''], rows, 'No nodes.');
}

function eventsTable(events: ScaleEvent[], now: number): HTMLElement {
  const rows = events.map((e) =>
    h(
      'tr',
      { class: 'event', 'data-kind': e.kind },
      h('td', { class: 'time', title: `${duration(now - e.at)} ago` }, clockTime(e.at)),
      h('td', {}, h('span', { class: `badge kind-${e.kind}` }, e.kind)),
      h('td', {}, e.role ?? ''),
      h('td', {}, e.node ?? ''),
      h('td', { class: 'reason' }, e.reason),
      h('td', { class: 'numbers' }, Object.entries(e.data).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ')),
    ),
  );
  return table('events', ['Time', 'Kind', 'Role', 'Node', 'Reason', 'Numbers'], rows, 'No scale events yet.');
}

function streamsTable(streams: StreamRow[]): HTMLElement {
  const rows = streams.map((st) =>
    h(
      'tr',
      { class: 'stream', 'data-stream': `${st.scope}/${st.name}` },
      h('td', {}, st.scope),
      h('td', { class: 'name' }, st.name),
      h('td', {}, st.origins.join(', ') || '—'),
      h('td', {}, [...st.edges, ...st.others].join(', ') || '—'),
      h('td', {}, String(st.publishers)),
      h('td', {}, String(st.subscribers)),
    ),
  );
  return table('streams', ['Scope', 'Name', 'Origin', 'Edges', 'Publishers', 'Subscribers'], rows, 'No live streams.');
}

/** Whatever GET /admin/proxy/clients lists (WebSocket sessions, and WHIP/WHEP ones when they exist). */
function proxyTable(list: unknown[], now: number): HTMLElement {
  const items = list.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
  const cols: string[] = [];
  for (const it of items) for (const k of Object.keys(it)) if (!cols.includes(k)) cols.push(k);
  const cell = (k: string, v: unknown) => {
    if (v === undefined || v === null) return '';
    if (typeof v === 'number' && /time$/i.test(k) && v > 1e12) return `${clockTime(v)} (${duration(Math.max(0, now - v))})`;
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  };
  const rows = items.map((it) => h('tr', { class: 'session' }, ...cols.map((k) => h('td', {}, cell(k, it[k])))));
  return table('sessions', cols, rows, 'No proxy sessions.');
}

function poolTable(pool: Provision[], act: Actions): HTMLElement {
  const rows = pool.map((p) =>
    h(
      'tr',
      { class: 'host', 'data-host': p.host },
      h('td', {}, p.host),
      h('td', {}, p.port === undefined ? '' : String(p.port)),
      h('td', {}, p.location),
      h('td', {}, p.instanceType),
      h('td', { class: 'state' }, h('span', { class: `badge pool-${p.state}` }, p.state)),
      h('td', {}, p.state === 'TERMINATED' ? h('button', { type: 'button', 'data-action': 'reset-host', onclick: () => act.resetHost(p.host) }, 'Reset…') : null),
    ),
  );
  return table('pool', ['Host', 'Port', 'Zone', 'Instance type', 'State', ''], rows, 'The pool is empty: POST hosts to /admin/controller/provisions.');
}
