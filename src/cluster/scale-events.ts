import type { ScaleEvent } from '../domain/types.ts';
import type { ClusterStore } from '../store/cluster-store.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';

export type EventInput = Omit<ScaleEvent, 'id' | 'at' | 'role' | 'node' | 'data'> &
  Partial<Pick<ScaleEvent, 'role' | 'node' | 'data' | 'at'>>;

export interface EventLog {
  /** Stores and logs one decision. Never throws: a lost event must not undo the action it describes. */
  record(e: EventInput): Promise<void>;
  /** Called after each stored event (metrics hook). */
  onRecord?: (e: ScaleEvent) => void;
}

export function createEventLog(deps: { store: ClusterStore; clock: Clock; log: Logger }): EventLog {
  const log = deps.log.child({ component: 'scale-events' });
  const self: EventLog = {
    async record(input) {
      const e: ScaleEvent = { role: null, node: null, data: {}, ...input, at: input.at ?? deps.clock.now() };
      log.info({ group: e.group, kind: e.kind, role: e.role, node: e.node, data: e.data }, e.reason);
      try {
        await deps.store.addScaleEvent(e);
      } catch (err) {
        log.error({ err, group: e.group, kind: e.kind }, 'could not store scale event');
      }
      self.onRecord?.(e);
    },
  };
  return self;
}
