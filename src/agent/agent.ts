import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { clockDelay, type Clock, type TimerHandle } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { LinkState } from '../domain/types.ts';
import { hostOf } from '../cluster/node-protocol.ts';
import type { ReplyBody } from '../cluster/node-reply.ts';
import { red5Report, streamEvents, type Red5Snapshot } from '../cluster/red5-report.ts';
import { applyOrigins, readOrigins, sameOrigins } from './cluster-xml.ts';
import { ServerApiError, type ServerApi } from './server-api.ts';
import type { ManagerClient } from './manager-client.ts';
import type { RestartResult } from './restart.ts';
import type { AgentOptions } from './options.ts';

/** Until the manager's first reply sets the pace. */
const DEFAULT_REPORTING_SPEED = 10_000;
const START_BACKOFF = { first: 1_000, max: 30_000 };

export class AgentStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentStartError';
  }
}

export interface NodeAgentDeps {
  options: Pick<AgentOptions, 'host' | 'port' | 'capacity' | 'apps' | 'red5Home' | 'restartCommand'>;
  clock: Clock;
  log: Logger;
  serverApi: Pick<ServerApi, 'ping' | 'snapshot'>;
  manager: Pick<ManagerClient, 'send'>;
  restart: (command: string) => Promise<RestartResult>;
  /** The node's OS load (the Server API documents no CPU figure). */
  osLoad: () => { loadavg1: number; cpus: number };
}

interface LinkStatus {
  /** Parents as the manager names them (`host:port`), reported back as such. */
  parents: string[];
  state: LinkState;
  /** The restart finished: the first Server API answer after it means Red5 runs with the new origins. */
  awaitingApi: boolean;
}

/**
 * The agent on one Red5 Pro node: every reporting period it reads the Server API and reports to the
 * manager, and it makes cluster.xml name the parents the manager assigns. It reports only what it read:
 * while the Server API does not answer it stays silent, so the manager's missed-report rules apply.
 */
export function createNodeAgent(d: NodeAgentDeps) {
  const o = d.options;
  const log = d.log.child({ component: 'node-agent', host: o.host });
  const clusterXml = join(o.red5Home, 'conf', 'cluster.xml');
  let speed = DEFAULT_REPORTING_SPEED;
  let timer: TimerHandle | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let restarting: Promise<void> | null = null;
  let prev: Red5Snapshot | null = null;
  let apiUp = true;
  let managerUp = true;
  let link: LinkStatus = { parents: [], state: 'connecting', awaitingApi: false };
  let last: { status?: string; role?: string | null; drain?: boolean } = {};

  function schedule() {
    d.clock.clearTimeout(timer);
    if (!stopped) timer = d.clock.setTimeout(() => void runCycle(), speed);
  }

  function runCycle(): Promise<void> {
    timer = undefined;
    running = cycle().catch((err) => log.error({ err }, 'agent cycle failed')).finally(schedule);
    return running;
  }

  async function cycle() {
    let snap: Red5Snapshot;
    try {
      snap = await d.serverApi.snapshot(o.apps);
    } catch (err) {
      // Nothing read, nothing reported: a guess would keep clients flowing to a node that may be down.
      if (apiUp) log.error({ err: (err as Error).message }, 'Server API not answering: no reports until it answers again');
      apiUp = false;
      return;
    }
    if (!apiUp) log.info('Server API answering again: reports resume');
    apiUp = true;
    if (link.awaitingApi) {
      link = { ...link, state: 'established', awaitingApi: false };
      log.info({ parents: link.parents }, 'Red5 Pro answers after the restart: links established');
    }
    const events = streamEvents(o.host, prev, snap);
    prev = snap;
    try {
      for (const e of events) await d.manager.send(e);
      const reply = await d.manager.send(
        red5Report({
          host: o.host,
          port: o.port,
          capacity: o.capacity,
          snapshot: snap,
          links: link.parents.map((parent) => ({ parent, state: link.state })),
          os: d.osLoad(),
        }),
      );
      if (!managerUp) log.info('manager answering again');
      managerUp = true;
      await onReply(reply);
    } catch (err) {
      if (managerUp) log.warn({ err: (err as Error).message }, 'report failed; retrying every reporting period');
      managerUp = false;
    }
  }

  async function onReply(reply: ReplyBody) {
    if (reply.reportingSpeed && reply.reportingSpeed !== speed) {
      log.info({ reportingSpeed: reply.reportingSpeed }, 'reporting period set by the manager');
      speed = reply.reportingSpeed;
    }
    if (reply.rejected?.length || reply.rejectedLinks?.length) {
      log.warn({ rejected: reply.rejected ?? [], rejectedLinks: reply.rejectedLinks ?? [] }, 'the manager refused part of the report');
    }
    if (reply.status !== last.status || reply.role !== last.role) {
      const level = reply.status === 'unknown' ? 'warn' : 'info';
      log[level]({ status: reply.status, role: reply.role, group: reply.group }, reply.status === 'unknown' ? 'the manager does not know this host (is it provisioned with this --host?)' : 'assignment changed');
    }
    if ((reply.drain ?? false) !== (last.drain ?? false)) {
      // Red5 Pro documents no switch that refuses new clients: the broker sends none while draining.
      log.info({ drain: reply.drain ?? false }, reply.drain ? 'draining: the manager sends no new clients here' : 'no longer draining');
    }
    last = { status: reply.status, role: reply.role, drain: reply.drain ?? false };
    if (reply.status === 'assigned' && !restarting) await linkTo(reply);
  }

  /** Makes cluster.xml list what the reply assigns: an edge's or relay's parents, nothing for an origin. */
  async function linkTo(reply: ReplyBody) {
    const role = reply.role;
    if (role !== 'edge' && role !== 'relay' && role !== 'origin') return;
    const parents = role === 'origin' ? [] : [...(reply.parents ?? [])];
    if (role !== 'origin' && !parents.length) {
      // No parent in service right now (e.g. the origin died): restarting the edge to unlist it would drop its
      // viewers for nothing; Red5 keeps retrying the old origin until the manager names a new one.
      link = { parents, state: link.state, awaitingApi: false };
      return;
    }
    // Red5 links over its cluster port (1935 unless the value says otherwise), not the HTTP port the manager names.
    const origins = [...new Set(parents.map(hostOf))];
    let changed: boolean;
    try {
      changed = await applyOrigins(clusterXml, origins);
    } catch (err) {
      if (link.state !== 'error' || !sameOrigins(link.parents, parents)) log.error({ err: (err as Error).message, file: clusterXml }, 'cannot update cluster.xml');
      link = { parents, state: 'error', awaitingApi: false };
      return;
    }
    if (!changed) {
      // The file already names them and the Server API answered: Red5 runs with them (e.g. the agent restarted).
      if (link.parents.join() !== parents.join()) link = { parents, state: 'established', awaitingApi: false };
      return;
    }
    log.info({ origins, file: clusterXml }, 'cluster.xml origins rewritten (backup in cluster.xml.bak)');
    link = { parents, state: 'connecting', awaitingApi: false };
    if (!o.restartCommand) {
      log.warn('no --restart-command: restart Red5 Pro for the new origins to apply, then restart the agent');
      return;
    }
    const command = o.restartCommand;
    restarting = d
      .restart(command)
      .then((r) => {
        if (r.ok) {
          log.info('restart command finished; links established once the Server API answers');
          link = { ...link, awaitingApi: true };
        } else {
          log.error({ code: r.code, output: r.output }, 'restart command failed: links reported as error');
          link = { ...link, state: 'error' };
        }
      })
      .finally(() => (restarting = null));
  }

  return {
    /**
     * Checks the Server API once (a refused token is fatal, a refused connection is retried with back-off:
     * Red5 may still be starting), checks cluster.xml, then reports at once and every period after.
     */
    async start(): Promise<void> {
      let delay = START_BACKOFF.first;
      for (;;) {
        try {
          await d.serverApi.ping();
          break;
        } catch (err) {
          if (err instanceof ServerApiError && err.kind === 'auth') throw new AgentStartError(err.message);
          log.warn({ err: (err as Error).message, retryInMs: delay }, 'Server API not ready; retrying');
          await clockDelay(d.clock, delay);
          if (stopped) return;
          delay = Math.min(delay * 2, START_BACKOFF.max);
        }
      }
      try {
        readOrigins(await readFile(clusterXml, 'utf8'));
      } catch (err) {
        throw new AgentStartError(`cannot use ${clusterXml} (check --red5-home): ${(err as Error).message}`);
      }
      log.info('Server API answers; reporting to the manager');
      void runCycle();
    },
    /** Resolves when the cycle (and a restart it started) in progress has finished. */
    async idle(): Promise<void> {
      for (;;) {
        const r = restarting;
        await running;
        await r;
        if (r === restarting) return;
      }
    },
    get reportingSpeed() {
      return speed;
    },
    get links() {
      return link.parents.map((parent) => ({ parent, state: link.state }));
    },
    stop() {
      stopped = true;
      d.clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}

export type NodeAgent = ReturnType<typeof createNodeAgent>;
