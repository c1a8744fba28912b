import type { ClusterView } from '../cluster/view.ts';
import type { Clock } from '../lib/clock.ts';
import type { Config } from '../config/schema.ts';
import type { ProvisionCache } from './provision-cache.ts';
import { select, weightsFromConfig, type RefusalCode, type SelectRequest, type SelectionKind } from './select.ts';

/** One broker answer, exactly the classic shape (E1, E4): `scope` carries a leading slash. */
export interface BrokerAnswer {
  serverAddress: string;
  scope: string;
  name: string;
  region: string;
}

/** A validated broker request (the route checks the input). */
/** What a route asks; the broker adds whether a stream provision exists. */
export type BrokerRequest = Omit<SelectRequest, 'hasProvision'>;

export type BrokerDecision =
  | { ok: true; kind: SelectionKind; answers: BrokerAnswer[] }
  | { ok: false; status: 404 | 503; code: RefusalCode; message: string };

export interface Broker {
  decide(req: BrokerRequest): BrokerDecision;
  /** Is this region known (configured, or the region of a node of the cluster)? */
  knowsRegion(region: string): boolean;
}

export interface BrokerDeps {
  view: ClusterView;
  clock: Clock;
  config: Config;
  regions: readonly string[];
  provisions: Pick<ProvisionCache, 'has'>;
  /**
   * Metrics hook, called once per decision: `action` is broadcast|subscribe; `outcome` is the selection
   * kind on success (sticky, origin, transcoder, edge, origin-fallback) or the refusal code (not-live,
   * no-node, full, region, endpoints, no-edge, no-transcoder).
   */
  onDecision?: (action: string, outcome: string) => void;
}

/**
 * The broker: selection (select.ts) on the in-memory view, then the hand-out is recorded on every
 * chosen node so that a burst of requests between two reports spreads over the nodes (design §7).
 * No I/O, no validation (the route does it), no logging.
 */
export function createBroker(deps: BrokerDeps): Broker {
  const { view, clock, provisions, onDecision } = deps;
  const weights = weightsFromConfig(deps.config.instanceevaluator);
  // The view keeps its candidates in order for these weights, so a request reads the best instead of scanning.
  view.rankCandidates(weights);

  return {
    decide(req) {
      // The provision cache is only asked for a transcode broadcast (no copy of the request otherwise).
      const sel = select(
        view,
        clock.now(),
        weights,
        req.action === 'broadcast' && req.transcode ? { ...req, hasProvision: provisions.has(req.scope, req.name) } : req,
      );
      if (!sel.ok) {
        onDecision?.(req.action, sel.code);
        return sel;
      }
      const scope = '/' + req.scope;
      const answers: BrokerAnswer[] = new Array(sel.slots.length);
      // A client connects to one server (the others of endpoints=N are its fallbacks), so a request counts
      // one hand-out, and only up to the node's free capacity: anonymous requests cannot push a node's load
      // past full, which is what the autoscaler reads.
      const firstSlot = sel.slots[0];
      if (firstSlot && firstSlot.used + firstSlot.handedOut < firstSlot.capacity) view.handOut(firstSlot);
      for (let i = 0; i < sel.slots.length; i++) {
        const slot = sel.slots[i];
        answers[i] = { serverAddress: slot.address, scope, name: req.name, region: slot.node.region };
      }
      onDecision?.(req.action, sel.kind);
      return { ok: true, kind: sel.kind, answers };
    },
    knowsRegion(region) {
      // Read on each call: the caller may keep the array up to date (regions added at run time).
      if (deps.regions.includes(region)) return true;
      for (const n of view.nodes.values()) if (n.region === region) return true;
      return false;
    },
  };
}
