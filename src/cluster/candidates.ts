import type { ClusterNode, LinkState } from '../domain/types.ts';

/**
 * What the broker ranks candidates by, kept in order as loads change so that a request reads the best
 * candidate instead of walking every node (design §7; issue 14: a wide fan-out of 999 edges behind one
 * origin made each subscribe linear in the fan-out).
 *
 * The order inside one heap is the broker's order after region and link tier (select.ts):
 * load ratio, then pressure, then address. Region and tier are not keys: each (region, tier) has its own
 * heap, and the broker merges the few heaps a request can use.
 */

export interface EvaluatorWeights {
  streams: number;
  connections: number;
  subscribers: number;
  memory: number;
  restreamer: number;
}

export const DEFAULT_WEIGHTS: EvaluatorWeights = { streams: 30, connections: 15, subscribers: 60, memory: 20, restreamer: 35 };

/** Of a node or of its slot (which copies cpu and memory). */
export function pressureOf(n: Pick<ClusterNode, 'cpu' | 'memory'>, w: EvaluatorWeights): number {
  const total = w.memory + w.connections;
  if (total <= 0) return 0;
  return (w.memory * (n.memory ?? 0.5) + w.connections * (n.cpu ?? 0.5)) / total;
}

/** Link states through which an edge can reach its parent: 0 = ready, 1 = coming up, -1 = unusable. */
export const LINK_TIER: Record<LinkState, number> = {
  established: 0,
  prospective: 1,
  connecting: 1,
  disconnecting: -1,
  disconnected: -1,
  error: -1,
};

/** The keys a heap reads from a slot (view.ts NodeSlot keeps them current). */
export interface Ranked {
  readonly address: string;
  /** (used + handedOut) / capacity; Infinity without capacity. */
  ratio: number;
  pressure: number;
}

/** Same order as the broker's comparison after region and tier. */
export function rankedBefore(a: Ranked, b: Ranked): number {
  return a.ratio - b.ratio || a.pressure - b.pressure || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);
}

/** One slot's place in one heap (a slot sits in one heap per parent link and one for its role). */
export interface HeapEntry<T extends Ranked> {
  readonly item: T;
  readonly heap: CandidateHeap<T>;
  pos: number;
}

/**
 * Indexed binary min-heap: O(log n) insert, remove and re-key (the entry knows its position). The array
 * is read by the broker directly: items[0] is the best, and the children of i are 2i+1 and 2i+2.
 */
export class CandidateHeap<T extends Ranked> {
  readonly items: HeapEntry<T>[] = [];

  add(item: T): HeapEntry<T> {
    const e: HeapEntry<T> = { item, heap: this, pos: this.items.length };
    this.items.push(e);
    this.up(e.pos);
    return e;
  }

  remove(e: HeapEntry<T>) {
    const last = this.items.pop()!;
    if (last === e) return;
    this.items[e.pos] = last;
    last.pos = e.pos;
    this.update(last);
  }

  /** The entry's keys changed. */
  update(e: HeapEntry<T>) {
    if (!this.up(e.pos)) this.down(e.pos);
  }

  private up(i: number): boolean {
    const a = this.items;
    const e = a[i];
    const start = i;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (rankedBefore(e.item, a[p].item) >= 0) break;
      a[i] = a[p];
      a[i].pos = i;
      i = p;
    }
    a[i] = e;
    e.pos = i;
    return i !== start;
  }

  private down(i: number) {
    const a = this.items;
    const n = a.length;
    const e = a[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && rankedBefore(a[r].item, a[l].item) < 0 ? r : l;
      if (rankedBefore(a[c].item, e.item) >= 0) break;
      a[i] = a[c];
      a[i].pos = i;
      i = c;
    }
    a[i] = e;
    e.pos = i;
  }
}
