import { z } from 'zod';
import type { Config } from '../../config/schema.ts';
import type { Clock } from '../../lib/clock.ts';
import { clockDelay } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { badRequest, conflict, notFound } from '../../lib/errors.ts';
import { normalizeHost } from '../../lib/hosts.ts';
import { CloudError, type CloudController, type Instance, type LaunchRequest, type TerminateReason } from '../cloud-controller.ts';
import { hostPort, type NodeApi } from '../node-api.ts';
import { DuplicateHostError, ProvisionStore, type Provision, type ProvisionFilter, type ProvisionState } from './provision-store.ts';

/**
 * The simulated cloud (design §5, classic `simulated-cloud-controller.jar`): "instances" are pre-existing
 * hosts an operator provisions; launching hands one out after the simulated delay, terminating returns it.
 */

/** Provision JSON as served (classic-api §2.11), null fields omitted. */
export interface ProvisionView {
  nodeId: string;
  location: string;
  host: string;
  port?: number;
  instanceType: string;
  state: ProvisionState;
  meta: string;
}

export interface SimulatedCloud extends CloudController {
  /** Validates, pings every host concurrently, then stores all of them AVAILABLE, or nothing (400). */
  addProvisions(items: unknown[]): Promise<ProvisionView[]>;
  listProvisions(filter?: ProvisionFilter): Promise<ProvisionView[]>;
  /**
   * 404 unknown host, 409 when it serves a group. With `force`, an ASSIGNED host is removed too unless
   * `force.servedBy` names the live node it serves (409): the operator's way out of a leaked host.
   */
  removeProvision(host: string, force?: { servedBy: (p: Provision) => string | null }): Promise<ProvisionView & { released?: { identifier: string | null; group: string | null } }>;
  /** Removes every host that serves no group; ASSIGNED hosts stay and are listed in `retained`. */
  removeAllProvisions(): Promise<{ count: number; retained: string[]; timestamp: number }>;
  /** TERMINATED → AVAILABLE when the host answers the ping (400 otherwise); 404 unknown, 409 ASSIGNED. */
  resetProvision(host: string): Promise<ProvisionView>;
  available(zone: string, instanceType: string): Promise<number>;
  close(): Promise<void>;
}

export interface SimulatedCloudDeps {
  config: Config;
  clock: Clock;
  log: Logger;
  dataDir: string;
  nodeApi: NodeApi;
}

export const SIMULATED_CLOUD_NAME = 'Simulated Cloud Services';
const MAX_PROVISIONS_PER_REQUEST = 1000;

const lenientInt = (v: unknown) => (typeof v === 'string' && /^\s*\d+(\.0+)?\s*$/.test(v) ? Number(v) : v);

/** One provision entry as sent by operators (classic body plus our optional `port` and `meta`). */
export function provisionEntrySchema(zones: readonly string[]) {
  return z.object({
    location: z
      .string({ required_error: 'is required', invalid_type_error: 'must be a zone name' })
      .trim()
      .min(1, 'must not be blank')
      .refine((v) => zones.includes(v), (v) => ({ message: `unknown zone ${JSON.stringify(v)}; configured zones (managed.availabilityZoneNames): ${zones.join(', ')}` })),
    host: z
      .string({ required_error: 'is required', invalid_type_error: 'must be a host address' })
      .trim()
      .min(1, 'must not be blank')
      .transform((h, ctx) => {
        const n = normalizeHost(h);
        if (n === null) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(h)} is not an IPv4 or IPv6 address or a DNS name (no scheme, port, path or spaces)` });
          return z.NEVER;
        }
        return n;
      }),
    instanceType: z
      .string({ required_error: 'is required', invalid_type_error: 'must be a name such as "standard"' })
      .trim()
      .min(1, 'must not be blank')
      .max(254, 'must be at most 254 characters'),
    port: z.preprocess(
      (v) => (v === null ? undefined : lenientInt(v)),
      z.number({ invalid_type_error: 'must be a port number' }).int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535').optional(),
    ),
    meta: z.preprocess((v) => (v === null ? undefined : v), z.string({ invalid_type_error: 'must be a string' }).max(4096).optional()),
  });
}
export type ProvisionEntry = z.output<ReturnType<typeof provisionEntrySchema>>;

export function toView(p: Provision): ProvisionView {
  return {
    nodeId: p.nodeId,
    location: p.location,
    host: p.host,
    ...(p.port !== null ? { port: p.port } : {}),
    instanceType: p.instanceType,
    state: p.state,
    meta: p.meta,
  };
}

export function createSimulatedCloud(deps: SimulatedCloudDeps): SimulatedCloud {
  const { config, clock, nodeApi } = deps;
  const log = deps.log.child({ component: 'simulated-cloud' });
  const regions = [...config.managed.regionNames];
  const zones = [...config.managed.availabilityZoneNames];
  const delay = config.managed.operationTimeoutMilliseconds;
  const recycleDeadNodes = config.managed.recycleDeadNodes;
  const store = new ProvisionStore(deps.dataDir);
  const entrySchema = provisionEntrySchema(zones);
  /** Identifiers whose launch is still in its simulated delay: listed as `pending`. */
  const launching = new Set<string>();
  /** zone/type pairs already warned about as exhausted: the autoscaler retries every tick, the log says it once. */
  const warnedExhausted = new Set<string>();
  let closed = false;

  const portOf = (p: { port: number | null }) => p.port ?? config.serverapi.port;
  const pingUrl = (host: string, port: number) =>
    `${config.serverapi.protocol}://${hostPort(host, port)}/api/${config.serverapi.version}/server/ping`;

  function regionOfZone(zone: string): string {
    // Longest configured region that prefixes the zone (us-test1-a → us-test1), else the first region.
    const match = regions.filter((r) => zone.startsWith(r)).sort((a, b) => b.length - a.length)[0];
    return match ?? regions[0];
  }

  function toInstance(p: Provision): Instance {
    return {
      identifier: p.identifier!,
      host: p.host,
      port: p.port,
      zone: p.location,
      region: regionOfZone(p.location),
      instanceType: p.instanceType,
      state: launching.has(p.identifier!) ? 'pending' : 'running',
      launchTime: p.launchTime ?? p.updated,
      group: p.group,
    };
  }

  function mustGet(host: string): Provision {
    const h = normalizeHost(host) ?? host.trim();
    const p = store.get(h);
    if (!p) throw notFound(`No provision for host ${JSON.stringify(h)}; GET /admin/controller/provision lists them.`);
    return p;
  }

  /** Validates every entry and reports every problem at once, naming entry index and field. */
  function validate(items: unknown[]): ProvisionEntry[] {
    if (!Array.isArray(items) || items.length === 0) {
      throw badRequest('Send at least one provision: [{"location": "<zone>", "host": "<address>", "instanceType": "standard"}].');
    }
    if (items.length > MAX_PROVISIONS_PER_REQUEST) throw badRequest(`At most ${MAX_PROVISIONS_PER_REQUEST} provisions per request.`);
    const problems: string[] = [];
    const entries: ProvisionEntry[] = [];
    const firstIndex = new Map<string, number>();
    items.forEach((item, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        problems.push(`entry ${i}: must be an object {location, host, instanceType}`);
        return;
      }
      const r = entrySchema.safeParse(item);
      if (!r.success) {
        for (const issue of r.error.issues) problems.push(`entry ${i} (${issue.path.join('.') || 'value'}): ${issue.message}`);
        return;
      }
      const e = r.data;
      const seen = firstIndex.get(e.host);
      if (seen !== undefined) problems.push(`entry ${i} (host): ${e.host} duplicates entry ${seen}`);
      else firstIndex.set(e.host, i);
      const stored = store.get(e.host);
      if (stored) problems.push(`entry ${i} (host): ${e.host} is already provisioned (state ${stored.state}); delete it first or use another host`);
      entries.push(e);
    });
    if (problems.length) throw badRequest(`Invalid provisions, nothing was stored: ${problems.join('; ')}.`);
    return entries;
  }

  const cloud: SimulatedCloud = {
    name: SIMULATED_CLOUD_NAME,
    regions,
    zones,
    regionOfZone,

    async launch(req: LaunchRequest): Promise<Instance> {
      if (!zones.includes(req.zone)) {
        throw new CloudError('UNKNOWN_ZONE', `Unknown availability zone ${JSON.stringify(req.zone)}; configured zones (managed.availabilityZoneNames): ${zones.join(', ')}.`, false, { zone: req.zone });
      }
      const existing = store.byIdentifier(req.identifier);
      if (existing) return toInstance(existing); // a retried launch of the same instance gets the same host
      // Reserve first, wait after: a host taken here is invisible to every other launch during the delay.
      const p = store.reserve(req.zone, req.instanceType, { identifier: req.identifier, group: req.group, role: req.role, launchTime: clock.now() }, clock.now());
      if (!p) {
        const key = `${req.zone}\u0000${req.instanceType}`;
        const level = warnedExhausted.has(key) ? 'debug' : 'warn';
        warnedExhausted.add(key);
        log[level]({ zone: req.zone, instanceType: req.instanceType, identifier: req.identifier, group: req.group, role: req.role }, 'launch refused: no AVAILABLE host in the pool');
        throw new CloudError(
          'POOL_EXHAUSTED',
          `No AVAILABLE simulated host of instanceType "${req.instanceType}" in zone ${req.zone}: the administrator must add hosts via POST /admin/controller/provisions (or reset TERMINATED ones via POST /admin/controller/provision/{host}).`,
          false,
          { zone: req.zone, instanceType: req.instanceType, available: 0 },
        );
      }
      warnedExhausted.delete(`${req.zone}\u0000${req.instanceType}`);
      log.info({ identifier: req.identifier, host: p.host, zone: req.zone, instanceType: req.instanceType, group: req.group, role: req.role, delayMs: delay }, 'host reserved for launch');
      launching.add(req.identifier);
      try {
        await clockDelay(clock, delay);
      } finally {
        launching.delete(req.identifier);
      }
      const now = closed ? null : store.byIdentifier(req.identifier);
      if (!now || now.host !== p.host) {
        // Terminated (or the cloud closed) while the simulated operation was running.
        throw new CloudError('INTERNAL', `Instance ${req.identifier} was terminated while it was launching.`, true, { identifier: req.identifier, host: p.host });
      }
      log.info({ identifier: req.identifier, host: p.host }, 'instance launched');
      return toInstance(now);
    },

    async terminate(identifier: string, reason: TerminateReason): Promise<void> {
      const p = store.byIdentifier(identifier);
      if (!p) {
        log.debug({ identifier, reason }, 'terminate: no host runs this instance (already released)');
        return;
      }
      let to: 'AVAILABLE' | 'TERMINATED' = 'AVAILABLE';
      let why = `${reason}: host returned to the pool`;
      if (reason === 'failed') {
        if (!recycleDeadNodes) {
          to = 'TERMINATED';
          why = 'failed node, managed.recycleDeadNodes=false: host marked TERMINATED (reset it after a reboot)';
        } else if (await nodeApi.ping(p.host, portOf(p))) {
          why = 'failed node answers the ping, managed.recycleDeadNodes=true: host recycled into the pool';
        } else {
          to = 'TERMINATED';
          why = 'failed node does not answer the ping: host marked TERMINATED (reset it after a reboot)';
        }
      }
      // Conditional on the identifier still holding the host: a concurrent terminate already did the work.
      const r = store.release(identifier, to, clock.now());
      if (r) log.info({ identifier, host: r.host, reason, state: r.state }, why);
    },

    async list(): Promise<Instance[]> {
      return store.assigned().map(toInstance);
    },

    async describe(identifier: string): Promise<Instance | null> {
      const p = store.byIdentifier(identifier);
      return p ? toInstance(p) : null;
    },

    async available(zone: string, instanceType: string): Promise<number> {
      return store.countAvailable(zone, instanceType);
    },

    async addProvisions(items: unknown[]): Promise<ProvisionView[]> {
      const entries = validate(items);
      const results = await Promise.all(entries.map((e) => nodeApi.ping(e.host, e.port ?? config.serverapi.port)));
      const failed = entries.map((e, i) => ({ e, i, ok: results[i] })).filter((x) => !x.ok);
      if (failed.length) {
        const list = failed.map(({ e, i }) => `${hostPort(e.host, e.port ?? config.serverapi.port)} (entry ${i})`).join(', ');
        log.warn({ hosts: failed.map((f) => f.e.host) }, 'provisions refused: hosts do not answer the node ping');
        throw badRequest(
          `These hosts did not answer the node ping, nothing was stored: ${list}. Each host must run Red5 Pro (or \`npm run simulate\`) ` +
            `with the Server API reachable at ${pingUrl('<host>', config.serverapi.port)} (serverapi.protocol/port/version/accessToken; ` +
            'a provision may carry its own "port").',
        );
      }
      let stored: Provision[];
      try {
        stored = store.insertMany(
          entries.map((e) => ({ location: e.location, host: e.host, port: e.port ?? null, instanceType: e.instanceType, meta: e.meta ?? '' })),
          clock.now(),
        );
      } catch (err) {
        if (err instanceof DuplicateHostError) throw badRequest(`Invalid provisions, nothing was stored: already provisioned: ${err.hosts.join(', ')}.`);
        throw err;
      }
      warnedExhausted.clear();
      log.info({ hosts: stored.map((p) => p.host) }, 'provisions added to the pool');
      return stored.map(toView);
    },

    async listProvisions(filter: ProvisionFilter = 'all'): Promise<ProvisionView[]> {
      return store.list(filter).map(toView);
    },

    async removeProvision(host: string, force?: { servedBy: (p: Provision) => string | null }) {
      const p = mustGet(host);
      if (force && p.state === 'ASSIGNED') {
        const node = force.servedBy(p);
        if (node) throw conflict(`Provision ${p.host} serves the live node ${node}; terminate it (or delete its group) first.`);
        store.release(p.identifier!, 'AVAILABLE', clock.now());
        const r = store.remove(p.host);
        if (!r.removed) throw conflict(`Provision ${p.host} was assigned again meanwhile; retry.`);
        log.warn({ host: p.host, identifier: p.identifier, group: p.group }, 'ASSIGNED provision serving no live node removed (force)');
        return { ...toView(r.removed), released: { identifier: p.identifier, group: p.group } };
      }
      const r = store.remove(p.host);
      if (r.assigned) {
        throw conflict(
          `Provision ${p.host} serves instance ${r.assigned.identifier} of group ${r.assigned.group}; delete that node (or its group) first.`,
        );
      }
      if (!r.removed) throw notFound(`No provision for host ${JSON.stringify(p.host)}.`);
      log.info({ host: p.host, state: r.removed.state }, 'provision removed');
      return toView(r.removed);
    },

    async removeAllProvisions() {
      const r = store.removeAllUnassigned();
      log.info({ count: r.count, retained: r.retained }, 'provisions removed (hosts serving groups are kept)');
      return { ...r, timestamp: clock.now() };
    },

    async resetProvision(host: string): Promise<ProvisionView> {
      const p = mustGet(host);
      if (p.state === 'AVAILABLE') return toView(p); // already what a reset produces
      if (p.state === 'ASSIGNED') {
        throw conflict(`Provision ${p.host} serves instance ${p.identifier} of group ${p.group}; only TERMINATED hosts can be reset.`);
      }
      if (!(await nodeApi.ping(p.host, portOf(p)))) {
        throw badRequest(
          `Host ${hostPort(p.host, portOf(p))} does not answer the node ping at ${pingUrl(p.host, portOf(p))}; reboot it (start Red5 Pro) and retry the reset.`,
        );
      }
      const r = store.transition(p.host, ['TERMINATED'], 'AVAILABLE', clock.now());
      const cur = r ?? store.get(p.host);
      if (!cur) throw notFound(`No provision for host ${JSON.stringify(p.host)}.`);
      if (r) log.info({ host: p.host }, 'TERMINATED host reset to AVAILABLE');
      return toView(cur);
    },

    async close(): Promise<void> {
      closed = true;
      store.close();
    },
  };
  return cloud;
}
