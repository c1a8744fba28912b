import { admin, ApiError, token } from './api.ts';
import { byId, clockTime } from './dom.ts';
import { History } from './chart.ts';
import { clusterView, signInView, type Actions, type State } from './views.ts';
import type { Overview, Provision, ScaleEvent } from './types.ts';

const EVENTS_SHOWN = 50;
const app = byId('app');
const status = byId('status');
const signOut = byId<HTMLButtonElement>('signout');
const history = new History();
let timer: number | undefined;
let generation = 0;
let lastRendered = '';

/** Everything the page shows, read together so the views agree with each other. */
async function load(): Promise<State> {
  const [overview, pool, proxy] = await Promise.all([
    admin<Overview>('GET', '/overview'),
    admin<Provision[]>('GET', '/controller/provision'),
    admin<unknown[]>('GET', '/proxy/clients'),
  ]);
  const events = new Map<string, ScaleEvent[]>();
  await Promise.all(
    overview.groups.map(async (g) => {
      const page = await admin<{ events: ScaleEvent[] }>('GET', `/nodegroup/${encodeURIComponent(g.name)}/events?limit=${EVENTS_SHOWN}`).catch((e: unknown) => {
        // A group deleted between the two reads: show it without events until the next refresh.
        if (e instanceof ApiError && e.status === 404) return { events: [] };
        throw e;
      });
      events.set(g.name, page.events);
    }),
  );
  return { overview, pool, proxy, events };
}

function showSignIn(message: string | null) {
  clearTimeout(timer);
  generation++;
  lastRendered = '';
  signOut.hidden = true;
  status.textContent = '';
  app.replaceChildren(
    signInView((t) => {
      token.set(t);
      void refresh();
    }, message),
  );
}

async function refresh() {
  clearTimeout(timer);
  const mine = ++generation;
  if (!token.get()) return showSignIn(null);
  let next = 2000;
  try {
    const st = await load();
    if (mine !== generation) return;
    next = st.overview.refreshMs;
    for (const g of st.overview.groups) history.add(g, st.overview.now);
    history.keep(new Set(st.overview.groups.map((g) => g.name)));
    signOut.hidden = false;
    status.textContent = `Manager time ${clockTime(st.overview.now)} · refreshed every ${st.overview.refreshMs / 1000} s`;
    status.className = '';
    // Re-render only on change: a click never lands on a row being replaced, and the page stays still.
    const key = JSON.stringify(st);
    if (key !== lastRendered) {
      lastRendered = key;
      app.replaceChildren(...clusterView(st, history, actions));
    }
  } catch (e) {
    if (mine !== generation) return;
    if (e instanceof ApiError && e.status === 401) {
      token.clear();
      return showSignIn('The manager refused this token. Check rest.administratorToken and sign in again.');
    }
    status.textContent = `Could not refresh: ${(e as Error).message} Retrying…`;
    status.className = 'error';
  }
  timer = window.setTimeout(() => void refresh(), next);
}

const dialog = byId<HTMLDialogElement>('confirm');
const field = byId('confirm-field');
const input = byId<HTMLInputElement>('confirm-input');

/** Asks before any change; resolves with the number typed (threshold) or true, or null when cancelled. */
function confirmAction(title: string, text: string, value?: number): Promise<number | true | null> {
  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  field.hidden = value === undefined;
  input.required = value !== undefined;
  if (value !== undefined) input.value = String(value);
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue !== 'ok') return resolve(null);
        resolve(value === undefined ? true : Number(input.value));
      },
      { once: true },
    );
  });
}

function toast(text: string, error = false) {
  const el = byId('toast');
  el.textContent = text;
  el.className = error ? 'error' : '';
  el.hidden = false;
  window.setTimeout(() => (el.hidden = true), 6000);
}

async function run(done: string, call: () => Promise<unknown>) {
  try {
    await call();
    toast(done);
  } catch (e) {
    toast((e as Error).message, true);
  }
  void refresh();
}

const actions: Actions = {
  async setThreshold(role, current) {
    const v = await confirmAction(`Scale-out alarm for ${role}`, `Every group scales ${role}s out when their load goes above this percentage (applies on the next autoscaler tick).`, current);
    if (typeof v !== 'number') return;
    if (!Number.isInteger(v) || v < 1 || v > 100) return toast('The threshold must be a whole number from 1 to 100.', true);
    await run(`The ${role} alarm threshold is now ${v}%.`, () => admin('POST', `/alarm/scaleout/default?type=${encodeURIComponent(role)}&threshold=${v}`));
  },
  async sunset(address) {
    if (!(await confirmAction(`Sunset ${address}?`, 'It takes no new clients, a replacement is launched, and it is terminated once empty (or after the drain timeout).'))) return;
    await run(`${address} is draining.`, () => admin('POST', '/node/sunset', [address]));
  },
  async deleteGroup(group) {
    if (!(await confirmAction(`Delete group ${group}?`, 'Every node of the group is terminated and its hosts go back to the pool. Clients on it are disconnected.'))) return;
    await run(`${group} is being deleted.`, () => admin('DELETE', `/nodegroup/${encodeURIComponent(group)}`));
  },
  async resetHost(host) {
    if (!(await confirmAction(`Reset ${host}?`, 'Puts the TERMINATED host back in the pool as AVAILABLE if it answers the ping (reboot it first).'))) return;
    await run(`${host} is available again.`, () => admin('POST', `/controller/provision/${encodeURIComponent(host)}`));
  },
};

signOut.addEventListener('click', () => {
  token.clear();
  showSignIn(null);
});
window.addEventListener('hashchange', () => {
  token.takeFromFragment();
  void refresh();
});

token.takeFromFragment();
void refresh();
