import { z } from 'zod';
import { LINK_STATES, type ClusterNode, type NodeStream, type Role } from '../domain/types.ts';
import { StoreUnavailableError, type ClusterStore } from '../store/cluster-store.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Config } from '../config/schema.ts';
import { streamKey, type ClusterView } from './view.ts';
import type { NodeOps } from './node-ops.ts';
import { parentsForReply, setLinkState } from './links.ts';
import { conflict, describeZodIssues } from '../lib/errors.ts';
import { hostKey } from '../lib/hosts.ts';
// The one name rule: scopes kept without leading/trailing slashes (`/live/` → `live`).
import { nameSchema as streamNameSchema, scopeSchema } from '../lib/names.ts';

/** A report may list at most this many streams; a node carrying more is misconfigured or hostile. */
export const MAX_REPORT_STREAMS = 10_000;
export const MAX_REPORT_LINKS = 1_000;

const hostSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.\-:[\]]+$/, 'must be an IP address or host name')
  // Node keys are canonical (lower case, IPv6 without brackets), as provisions store them.
  .transform(hostKey);
const count = z.number().int('must be a whole number').min(0, 'must not be negative').max(10_000_000);

const streamItemSchema = z.object({ scope: scopeSchema, name: streamNameSchema, publishers: count, subscribers: count });
const linkItemSchema = z.object({ parent: z.string().min(1).max(300), state: z.enum(LINK_STATES) });
export type ReportStream = z.infer<typeof streamItemSchema>;
export type ReportLink = z.infer<typeof linkItemSchema>;

/**
 * The envelope of a report: what makes it a heartbeat. Stream and link items are checked one by one
 * (sortReportItems), so one bad item is refused by itself instead of silencing the whole node (design §4).
 */
export const reportSchema = z.object({
  type: z.literal('report'),
  host: hostSchema,
  port: z.number().int().min(1).max(65535).optional(),
  capacity: z.number().int().min(1).max(10_000_000).optional(),
  connections: z.object({ publishers: count, subscribers: count }),
  streams: z.array(z.unknown()).default([]),
  links: z.array(z.unknown()).default([]),
  cpu: z.number().min(0).max(1).optional(),
  memory: z.number().min(0).max(1).optional(),
});

/** An item of a report that was not applied: its index in the report's `streams` (or `links`) array and why. */
export interface RejectedItem {
  index: number;
  reason: string;
}

/**
 * Checks a report's items one by one. Only the first `max` are considered, the rest are refused by
 * index; `keyOf` names items that must not repeat (the first entry wins; `labelOf` words the refusal). `quick` may read an item
 * without the schema (null: ask the schema, which words the reason).
 */
function sortItems<T>(
  items: unknown[],
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  max: number,
  what: string,
  keyOf?: (item: T) => string,
  labelOf?: (item: T) => string,
  quick?: (item: unknown) => T | null,
) {
  const ok: T[] = [];
  const rejected: RejectedItem[] = [];
  const firstAt = keyOf && items.length > 1 ? new Map<string, number>() : undefined;
  for (let i = 0; i < items.length; i++) {
    if (i >= max) {
      rejected.push({ index: i, reason: `over the limit of ${max} ${what} per report` });
      continue;
    }
    let item: T | null = quick ? quick(items[i]) : null;
    if (item === null) {
      const r = schema.safeParse(items[i]);
      if (!r.success) {
        rejected.push({ index: i, reason: describeZodIssues(r.error.issues) });
        continue;
      }
      item = r.data;
    }
    if (keyOf && firstAt) {
      const key = keyOf(item);
      const first = firstAt.get(key);
      if (first !== undefined) {
        rejected.push({ index: i, reason: `${labelOf ? labelOf(item) : key} is listed twice (first at index ${first})` });
        continue;
      }
      firstAt.set(key, i);
    }
    ok.push(item);
  }
  return { ok, rejected };
}

/** Splits a report's items into what applies and what is refused (`live` and `/live/` are one scope). */
export function sortReportItems(r: Report, reader?: ReportReader) {
  const s = sortItems(
    r.streams,
    streamItemSchema,
    MAX_REPORT_STREAMS,
    'streams',
    (x) => streamKey(x.scope, x.name),
    (x) => `stream ${x.scope}/${x.name}`,
    reader?.stream,
  );
  const l = sortItems(r.links, linkItemSchema, MAX_REPORT_LINKS, 'links');
  return { streams: s.ok, links: l.ok, rejected: s.rejected, rejectedLinks: l.rejected };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 10_000_000;
const isInt = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isFraction = (v: unknown) => typeof v === 'number' && v >= 0 && v <= 1;
/** The part of a stream item that names it (what the reader remembers per name). */
const streamNameOf = streamItemSchema.pick({ scope: true, name: true });
/** Past this many remembered names, the reader starts again (bounded memory whatever nodes send). */
const READER_MEMORY = 100_000;

/**
 * Reads the report every node sends every period without running zod on it (issue 14: validation was
 * most of a report's cost). Names and hosts are checked by their zod schemas once and remembered with
 * the schemas' output, so their rules live only in the schemas; what the reader checks itself are the
 * numbers, with the schemas' bounds. Anything it is not sure of returns null and goes through the
 * schemas, which word the 400 (test/cluster/report-reader.test.ts compares both ways).
 */
export function createReportReader() {
  const hosts = new Map<string, string | null>();
  const names = new Map<string, Map<string, { scope: string; name: string } | null>>();
  let remembered = 0;
  const remember = () => {
    if (++remembered > READER_MEMORY) {
      hosts.clear();
      names.clear();
      remembered = 0;
    }
  };
  const hostOk = (raw: string): string | null => {
    let h = hosts.get(raw);
    if (h === undefined) {
      const r = hostSchema.safeParse(raw);
      h = r.success ? r.data : null;
      remember();
      hosts.set(raw, h);
    }
    return h;
  };
  return {
    /** The envelope of a report, as reportSchema would give it, or null. */
    report(body: unknown): Report | null {
      if (typeof body !== 'object' || body === null) return null;
      const b = body as Record<string, unknown>;
      if (b.type !== 'report' || typeof b.host !== 'string') return null;
      const c = b.connections as Record<string, unknown> | null | undefined;
      if (typeof c !== 'object' || c === null || !isCount(c.publishers) || !isCount(c.subscribers)) return null;
      const { port, capacity, cpu, memory, streams, links } = b;
      if (port !== undefined && !isInt(port, 1, 65535)) return null;
      if (capacity !== undefined && !isInt(capacity, 1, 10_000_000)) return null;
      if ((cpu !== undefined && !isFraction(cpu)) || (memory !== undefined && !isFraction(memory))) return null;
      if ((streams !== undefined && !Array.isArray(streams)) || (links !== undefined && !Array.isArray(links))) return null;
      const host = hostOk(b.host);
      if (host === null) return null;
      const out: Report = { type: 'report', host, connections: { publishers: c.publishers, subscribers: c.subscribers }, streams: streams ?? [], links: links ?? [] };
      // Like zod: a key the body has is kept, even undefined.
      if ('port' in b) out.port = port as number | undefined;
      if ('capacity' in b) out.capacity = capacity as number | undefined;
      if ('cpu' in b) out.cpu = cpu as number | undefined;
      if ('memory' in b) out.memory = memory as number | undefined;
      return out;
    },
    /** One stream item, as streamItemSchema would give it, or null. */
    stream(item: unknown): ReportStream | null {
      if (typeof item !== 'object' || item === null) return null;
      const { scope, name, publishers, subscribers } = item as Record<string, unknown>;
      if (typeof scope !== 'string' || typeof name !== 'string' || !isCount(publishers) || !isCount(subscribers)) return null;
      let byName = names.get(scope);
      if (!byName) names.set(scope, (byName = new Map()));
      let known = byName.get(name);
      if (known === undefined) {
        const r = streamNameOf.safeParse({ scope, name });
        known = r.success ? r.data : null;
        remember();
        byName.set(name, known);
      }
      return known && { scope: known.scope, name: known.name, publishers, subscribers };
    },
  };
}
export type ReportReader = ReturnType<typeof createReportReader>;

export const streamEventSchema = z.object({
  type: z.enum(['publish', 'unpublish']),
  host: hostSchema,
  scope: scopeSchema,
  name: streamNameSchema,
});

export const nodeMessageSchema = z.discriminatedUnion('type', [reportSchema, streamEventSchema]);
export type NodeMessage = z.infer<typeof nodeMessageSchema>;
export type Report = z.infer<typeof reportSchema>;

/** `1.2.3.4:5080` → `1.2.3.4`, `[::1]:5080` → `::1`; a bare IPv6 address keeps its colons. */
export function hostOf(parent: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(parent);
  if (v6) return v6[1];
  return parent.split(':').length === 2 ? parent.replace(/:\d+$/, '') : parent;
}

export interface NodeReply {
  status: 'assigned' | 'unassigned' | 'unknown';
  identifier?: string;
  group?: string;
  role?: Role;
  parents?: string[];
  reportingSpeed: number;
  drain?: boolean;
  /** Streams of the report that were not applied (index into its `streams`); absent when none. */
  rejected?: RejectedItem[];
  /** Links of the report that were not applied (index into its `links`); absent when none. */
  rejectedLinks?: RejectedItem[];
}

export interface NodeProtocolDeps {
  config: Config;
  clock: Clock;
  log: Logger;
  store: ClusterStore;
  view: ClusterView;
  ops: Pick<NodeOps, 'markInService'>;
  /** Metrics hook: called with how late a report was against the speed the node was told. */
  onReport?: (node: ClusterNode, lagMs: number) => void;
}

/**
 * Node protocol v1 (design §4): reports and stream events update the view at once; the store is
 * written behind, at most once per reporting period per node unless a state changes.
 */
export function createNodeProtocol(d: NodeProtocolDeps) {
  const log = d.log.child({ component: 'node-protocol' });
  const speed = d.config.cluster.reportingSpeed;
  const lastPersist = new Map<string, number>();
  const chains = new Map<string, Promise<void>>();
  const warnedUnknown = new Map<string, number>();
  /** Node address → the source address its reports come from (see bind). */
  const sources = new Map<string, { identifier: string; source: string }>();
  const warnedRejected = new Map<string, number>();
  const reader = createReportReader();
  let storeFailing = false;

  /** A report is a heartbeat even while the store is down: what needs the store is retried by the next one. */
  async function unlessStoreDown<T>(what: string, address: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      log.warn({ err: err.message, address }, `${what} waits for the store; the next report retries`);
      return undefined;
    }
  }

  /** Serialises store writes per node so an older write never lands after a newer one. */
  function persist(address: string, write: () => Promise<void>) {
    const prev = chains.get(address) ?? Promise.resolve();
    const next = prev.then(write).then(
      () => {
        if (storeFailing) log.info('node reports reach the store again');
        storeFailing = false;
      },
      (err) => {
        // The view keeps what the node said; its next report writes it, whatever the period.
        lastPersist.delete(address);
        if (!storeFailing) log.warn({ err, address }, 'could not persist node reports; the view keeps them and the next reports retry');
        storeFailing = true;
      },
    );
    chains.set(address, next);
    void next.finally(() => {
      if (chains.get(address) === next) chains.delete(address);
    });
  }

  function unknownHost(host: string): NodeReply {
    const now = d.clock.now();
    // Pre-provisioned simulated hosts ping before they are used: warn, but not on every report.
    if ((warnedUnknown.get(host) ?? -Infinity) + 60_000 <= now) {
      warnedUnknown.set(host, now);
      log.warn({ host }, 'report from a host that is not a node of this manager');
    }
    return { status: 'unknown', reportingSpeed: speed };
  }

  function replyFor(n: ClusterNode): NodeReply {
    if (n.state === 'terminated') return { status: 'unassigned', identifier: n.identifier, reportingSpeed: speed, drain: true };
    return {
      status: 'assigned',
      identifier: n.identifier,
      group: n.group,
      role: n.role,
      parents: parentsForReply(n.address, d.view),
      reportingSpeed: speed,
      drain: n.state === 'draining' || n.state === 'terminating',
    };
  }

  async function applyLinks(n: ClusterNode, links: ReportLink[], now: number) {
    const reported = new Map<string, ReportLink['state']>();
    for (const l of links) reported.set(hostOf(l.parent), l.state);
    for (const r of d.view.parentsOf(n.address)) {
      const state = reported.get(r.parent);
      if (r.state === 'disconnecting' && (state === undefined || state === 'disconnected')) {
        // The child has let go of a parent that was leaving: the link is gone.
        await d.store.deleteRelation(r.parent, r.child);
        d.view.removeRelation(r.parent, r.child);
      } else if (state === 'established' || state === 'error') {
        if (r.state !== 'disconnecting') await setLinkState(r, state, now, d.view, d.store);
      }
    }
    // Parents handed to the child for the first time are now being connected.
    for (const r of d.view.parentsOf(n.address)) if (r.state === 'prospective') await setLinkState(r, 'connecting', now, d.view, d.store);
  }

  /**
   * A report cannot move a node or speak for it from elsewhere: its port must be the one the manager
   * knows (the provision's, or the first report's), and with cluster.reportSourceCheck its messages come
   * from the source address its first report came from (per instance; a restart re-learns it).
   * Refusals change nothing.
   */
  function bind(n: ClusterNode, source: string | undefined, port: number | undefined) {
    const portKnown = n.lastReport !== null || n.port !== d.config.cluster.accessPort;
    if (port !== undefined && port !== n.port && portKnown) {
      log.warn({ host: n.address, port: n.port, reported: port, source }, 'report refused: it would move the node to another port');
      throw conflict(`Report refused: node ${n.address} is known on port ${n.port}, not ${port}. A node cannot change its port; release the host and provision it again.`);
    }
    if (!d.config.cluster.reportSourceCheck || !source) return;
    const pin = sources.get(n.address);
    if (!pin || pin.identifier !== n.identifier) {
      sources.set(n.address, { identifier: n.identifier, source });
    } else if (pin.source !== source) {
      log.warn({ host: n.address, expected: pin.source, source }, 'report refused: it comes from another address than the node');
      throw conflict(
        `Report refused: node ${n.address} reports from another address. Set cluster.reportSourceCheck=false if node traffic reaches the manager through NAT or a relay.`,
      );
    }
  }

  async function report(body: Report, source?: string): Promise<NodeReply> {
    const prev = d.view.nodes.get(body.host);
    if (!prev) return unknownHost(body.host);
    bind(prev, source, body.port);
    const now = d.clock.now();
    d.onReport?.(prev, prev.lastReport === null ? 0 : Math.max(0, now - prev.lastReport - prev.reportingSpeed));
    const total = body.connections.publishers + body.connections.subscribers;
    let node: ClusterNode = {
      ...prev,
      port: body.port ?? prev.port,
      capacity: body.capacity ?? prev.capacity,
      connections: { ...body.connections },
      cpu: body.cpu ?? null,
      memory: body.memory ?? null,
      lastReport: now,
      lastTrafficTime: total > 0 ? now : prev.lastTrafficTime,
      reportingSpeed: speed,
    };
    d.view.setNode(node);
    d.view.resetHandedOut(node.address);
    const items = sortReportItems(body, reader);
    if (items.rejected.length || items.rejectedLinks.length) noteRejected(node, items.rejected, items.rejectedLinks, now);
    // A stream that did not change keeps its object: the view sees the same object and does not re-index it.
    const streams: NodeStream[] = new Array(items.streams.length);
    for (let i = 0; i < items.streams.length; i++) {
      const s = items.streams[i];
      const known = d.view.stream(node.address, s.scope, s.name);
      streams[i] =
        known && known.publishers === s.publishers && known.subscribers === s.subscribers
          ? known
          : { address: node.address, scope: s.scope, name: s.name, publishers: s.publishers, subscribers: s.subscribers, startTime: known?.startTime ?? now };
    }
    d.view.setNodeStreams(node.address, streams);
    let stateChanged = false;
    if (prev.state === 'pending') {
      const next = await unlessStoreDown('entering service', node.address, () => d.ops.markInService(node));
      node = next ?? node;
      stateChanged = next !== undefined;
    }
    await unlessStoreDown('link update', node.address, () => applyLinks(node, items.links, now));
    if (stateChanged || (lastPersist.get(node.address) ?? -Infinity) + node.reportingSpeed <= now) {
      lastPersist.set(node.address, now);
      const snapshot = node;
      persist(node.address, async () => {
        await d.store.saveNodeReport(snapshot);
        await d.store.replaceNodeStreams(snapshot.address, streams);
      });
    }
    const reply = replyFor(d.view.nodes.get(node.address) ?? node);
    if (items.rejected.length) reply.rejected = items.rejected;
    if (items.rejectedLinks.length) reply.rejectedLinks = items.rejectedLinks;
    return reply;
  }

  /** A node sending bad items keeps sending them: one warning per node per reporting period, not per report. */
  function noteRejected(n: ClusterNode, streams: RejectedItem[], links: RejectedItem[], now: number) {
    if ((warnedRejected.get(n.address) ?? -Infinity) + n.reportingSpeed > now) return;
    warnedRejected.set(n.address, now);
    log.warn(
      { host: n.address, rejectedStreams: streams.length, rejectedLinks: links.length, first: (streams[0] ?? links[0]).reason },
      'report items refused; the rest of the report applied',
    );
  }

  async function streamEvent(body: z.infer<typeof streamEventSchema>, source?: string): Promise<NodeReply> {
    const n = d.view.nodes.get(body.host);
    if (!n) return unknownHost(body.host);
    bind(n, source, undefined);
    if (body.type === 'publish') {
      const known = d.view.stream(n.address, body.scope, body.name);
      const s: NodeStream = {
        address: n.address,
        scope: body.scope,
        name: body.name,
        publishers: Math.max(1, known?.publishers ?? 0),
        subscribers: known?.subscribers ?? 0,
        startTime: known?.startTime ?? d.clock.now(),
      };
      d.view.addStream(s);
      persist(n.address, () => d.store.upsertStream(s));
    } else if (d.view.removeStream(n.address, body.scope, body.name)) {
      persist(n.address, async () => void (await d.store.deleteStream(n.address, body.scope, body.name)));
    }
    log.debug({ host: n.address, type: body.type, scope: body.scope, name: body.name }, 'stream event');
    return replyFor(n);
  }

  return {
    /**
     * A report read without zod when it is well formed (the hot path), else null: the caller validates
     * with nodeMessageSchema, whose errors name the bad fields.
     */
    quick(body: unknown): Report | null {
      return reader.report(body);
    },
    /** `source`: the sender's address (the socket's peer), for cluster.reportSourceCheck. */
    handle(msg: NodeMessage, source?: string): Promise<NodeReply> {
      return msg.type === 'report' ? report(msg, source) : streamEvent(msg, source);
    },
    /** Waits for every queued store write (tests, shutdown). */
    async flush(): Promise<void> {
      while (chains.size) await Promise.all([...chains.values()]);
    },
  };
}

export type NodeProtocol = ReturnType<typeof createNodeProtocol>;
