import { z } from 'zod';
import type { LinkState } from '../domain/types.ts';
import { MAX_REPORT_STREAMS, reportSchema, streamEventSchema, type ReportLink, type ReportStream } from './node-protocol.ts';

/**
 * What a real Red5 Pro node documents about itself (its Server API, reference red5-node-api.md §2), and the
 * pure mapping from those figures to a node protocol v1 report. The agent (src/agent/) reads, this decides.
 */

/** Node protocol v1 messages as sent on the wire (before the manager's normalisation). */
export type ReportMessage = Omit<z.input<typeof reportSchema>, 'streams' | 'links'> & { streams: ReportStream[]; links: ReportLink[] };
export type StreamEventMessage = z.input<typeof streamEventSchema>;

/** `{status, code, data, timestamp}`: every Server API answer. */
export const serverApiEnvelopeSchema = z
  .object({ status: z.string(), code: z.number().optional(), data: z.unknown(), message: z.unknown().optional() })
  .passthrough();

const figure = z.number().finite().min(0);
/** `GET /api/v1/server/statistics`, only the fields a report needs (the rest pass through). */
export const serverStatisticsSchema = z
  .object({
    active_connections: figure,
    total_memory: figure,
    free_memory: figure,
    max_memory: figure,
    processors: figure.optional(),
  })
  .passthrough();
export type ServerStatistics = z.infer<typeof serverStatisticsSchema>;

/** `GET /api/v1/applications` and `GET /api/v1/applications/{app}/streams`. */
export const nameListSchema = z.array(z.string().min(1)).max(MAX_REPORT_STREAMS);

/** `GET /api/v1/applications/{app}/streams/{stream}` (BroadcastStreamStatistics). */
export const streamStatisticsSchema = z
  .object({ name: z.string().optional(), active_subscribers: figure, scope_path: z.string().optional() })
  .passthrough();
export type StreamStatistics = z.infer<typeof streamStatisticsSchema>;

/** One read of the Server API: statistics and the live streams of the applications the agent watches. */
export interface Red5Snapshot {
  statistics: ServerStatistics;
  /** app name → live stream name → its statistics */
  streams: ReadonlyArray<{ app: string; name: string; stats: StreamStatistics }>;
}

export interface Red5ReportInput {
  host: string;
  port: number;
  capacity?: number;
  snapshot: Red5Snapshot;
  links: ReadonlyArray<{ parent: string; state: LinkState }>;
  /** 1-minute load average and processor count of the node's OS (the Server API documents no CPU load). */
  os: { loadavg1: number; cpus: number };
}

const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/**
 * Server API figures → report. A live stream has one publisher (Red5 serves one per name); its
 * subscribers are `active_subscribers`. Subscriber connections are at least the streams' subscribers and
 * otherwise every active connection that is not a publisher: clients connected but not yet playing still
 * take capacity. Memory is the JVM's used share of its maximum heap.
 */
export function red5Report(input: Red5ReportInput): ReportMessage {
  const { statistics, streams } = input.snapshot;
  const list = streams.map((s) => ({ scope: `/${s.app}`, name: s.name, publishers: 1, subscribers: Math.trunc(s.stats.active_subscribers) }));
  const publishers = list.length;
  const streamSubscribers = list.reduce((a, s) => a + s.subscribers, 0);
  const subscribers = Math.max(streamSubscribers, Math.trunc(statistics.active_connections) - publishers);
  const report: ReportMessage = {
    type: 'report',
    host: input.host,
    port: input.port,
    connections: { publishers, subscribers },
    streams: list,
    links: input.links.map((l) => ({ parent: l.parent, state: l.state })),
    cpu: input.os.cpus > 0 ? clamp01(input.os.loadavg1 / input.os.cpus) : undefined,
  };
  if (statistics.max_memory > 0) report.memory = clamp01((statistics.total_memory - statistics.free_memory) / statistics.max_memory);
  if (input.capacity !== undefined) report.capacity = input.capacity;
  return report;
}

const keyOf = (app: string, name: string) => `${app}\u0000${name}`;

/** Publish/unpublish events for streams that appeared or vanished between two reads (none on the first). */
export function streamEvents(host: string, prev: Red5Snapshot | null, next: Red5Snapshot): StreamEventMessage[] {
  if (!prev) return [];
  const before = new Map(prev.streams.map((s) => [keyOf(s.app, s.name), s]));
  const after = new Map(next.streams.map((s) => [keyOf(s.app, s.name), s]));
  const out: StreamEventMessage[] = [];
  for (const [k, s] of after) if (!before.has(k)) out.push({ type: 'publish', host, scope: `/${s.app}`, name: s.name });
  for (const [k, s] of before) if (!after.has(k)) out.push({ type: 'unpublish', host, scope: `/${s.app}`, name: s.name });
  return out;
}
