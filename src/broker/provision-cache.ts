import type { StreamProvision } from '../domain/types.ts';
import type { ClusterStore } from '../store/cluster-store.ts';
import { StoreConflictError } from '../store/cluster-store.ts';
import type { Clock } from '../lib/clock.ts';
import { conflict } from '../lib/errors.ts';
import { streamKey } from '../cluster/view.ts';

/**
 * Stream provisions (classic `/admin/event/meta/{scope}/{stream}`), kept in the store and mirrored in
 * memory so the broker can ask `has(scope, name)` on its hot path without a database round trip.
 * Writes go to the store first, then to the map, so a store failure leaves the cache unchanged.
 * Scopes are kept without leading or trailing slashes.
 */
export interface ProvisionCache {
  /** Fills the cache from the store (at start). */
  load(): Promise<void>;
  /** Replaces the cache with the store's content (sync with other manager instances). */
  reload(): Promise<void>;
  /** Synchronous, from memory: is there a provision for scope/name? */
  has(scope: string, name: string): boolean;
  /** Number of cached provisions. */
  readonly size: number;
  list(): Promise<StreamProvision[]>;
  get(scope: string, name: string): Promise<StreamProvision | null>;
  /** 409 AppError ("Provision already exists ...") when it exists. */
  create(scope: string, name: string, meta: Record<string, unknown>): Promise<StreamProvision>;
  /** null when absent. */
  update(scope: string, name: string, meta: Record<string, unknown>): Promise<StreamProvision | null>;
  /** The deleted provision, null when absent. */
  delete(scope: string, name: string): Promise<StreamProvision | null>;
}

export const PROVISION_EXISTS = 'Provision already exists';

export function createProvisionCache(deps: { store: Pick<ClusterStore, 'listProvisions' | 'getProvision' | 'createProvision' | 'updateProvision' | 'deleteProvision'>; clock: Clock }): ProvisionCache {
  const { store, clock } = deps;
  let map = new Map<string, StreamProvision>();
  const clone = (p: StreamProvision): StreamProvision => ({ ...p, meta: structuredClone(p.meta) });
  const exists = (scope: string, name: string) =>
    conflict(`${PROVISION_EXISTS} for ${scope}/${name}; change it with PUT or delete it first.`, 'SM_PROVISION_EXISTS');

  async function reload() {
    const next = new Map<string, StreamProvision>();
    for (const p of await store.listProvisions()) next.set(streamKey(p.scope, p.name), p);
    map = next;
  }

  return {
    load: reload,
    reload,
    has: (scope, name) => map.has(streamKey(scope, name)),
    get size() {
      return map.size;
    },
    async list() {
      const all = await store.listProvisions();
      const next = new Map<string, StreamProvision>();
      for (const p of all) next.set(streamKey(p.scope, p.name), p);
      map = next;
      return all.map(clone);
    },
    async get(scope, name) {
      const p = await store.getProvision(scope, name);
      if (p) map.set(streamKey(scope, name), p);
      else map.delete(streamKey(scope, name));
      return p ? clone(p) : null;
    },
    async create(scope, name, meta) {
      if (map.has(streamKey(scope, name))) throw exists(scope, name);
      const p: StreamProvision = { scope, name, meta: structuredClone(meta), updated: clock.now() };
      try {
        await store.createProvision(p);
      } catch (e) {
        if (e instanceof StoreConflictError) {
          // Created by another instance since our last sync.
          map.set(streamKey(scope, name), (await store.getProvision(scope, name)) ?? p);
          throw exists(scope, name);
        }
        throw e;
      }
      map.set(streamKey(scope, name), p);
      return clone(p);
    },
    async update(scope, name, meta) {
      const p: StreamProvision = { scope, name, meta: structuredClone(meta), updated: clock.now() };
      if (!(await store.updateProvision(p))) {
        map.delete(streamKey(scope, name));
        return null;
      }
      map.set(streamKey(scope, name), p);
      return clone(p);
    },
    async delete(scope, name) {
      const p = await store.getProvision(scope, name);
      const removed = await store.deleteProvision(scope, name);
      map.delete(streamKey(scope, name));
      return removed ? (p ?? { scope, name, meta: {}, updated: clock.now() }) : null;
    },
  };
}
