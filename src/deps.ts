import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import type { Config } from './config/schema.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { createLogger, logDestination, type Logger } from './lib/logger.ts';
import { StoreUnavailableError, type ClusterStore, type Lease } from './store/cluster-store.ts';
import { openClusterStore } from './store/open-store.ts';
import { createNodeApi } from './cloud/node-api.ts';
import { createSimulatedCloud, type SimulatedCloud } from './cloud/simulated/simulated-cloud.ts';
import { createCatalog, type Catalog } from './catalog/catalog.ts';
import { ClusterView } from './cluster/view.ts';
import { syncView } from './cluster/view-sync.ts';
import { repairRelations } from './cluster/relation-repair.ts';
import { createEventLog, type EventLog } from './cluster/scale-events.ts';
import { createNodeOps, type NodeOps } from './cluster/node-ops.ts';
import { createNodeProtocol, type NodeProtocol } from './cluster/node-protocol.ts';
import { createGroupService, type GroupService } from './cluster/groups.ts';
import { CLASSIC_CLUSTER_PASSWORD, resolveAdminToken, resolveClusterPassword } from './lib/admin-token.ts';
import { readBuildInfo, type BuildInfo } from './lib/build-info.ts';
import type { Dispatcher } from 'undici';
import { createWsProxy, type WsProxy } from './proxy/ws-proxy.ts';
import { createWhipProxy, type WhipProxy } from './proxy/whip-relay.ts';
import { createProvisionCache, type ProvisionCache } from './broker/provision-cache.ts';
import { createBroker, type Broker } from './broker/broker.ts';
import { burstFor, createRateLimiter, type RateLimiter } from './broker/rate-limit.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { readinessCheck, type Readiness } from './http/routes/ops.ts';
import { createActuator } from './autoscaler/actuator.ts';
import { createAutoscaler } from './autoscaler/run-once.ts';
import { createForceRemove, createReconciler } from './autoscaler/reconcile.ts';
import { settingsFromConfig } from './autoscaler/snapshot.ts';
import { startAutoscaler, type AutoscalerLoop, type AutoscalerStatus } from './autoscaler/loop.ts';
import { createGroupControls, type GroupControls } from './catalog/group-controls.ts';
import { hypotheticalCatalog, planWhatIf, type Decision, type WhatIf } from './autoscaler/whatif.ts';
import { replay, type ReplayAnswer, type ReplayInput } from './autoscaler/replay.ts';

/** Everything the app needs, built once by createDeps() (the composition root). */
export interface AppDeps {
  config: Config;
  /** Version and commit served by /admin/debug/version. */
  build: BuildInfo;
  clock: Clock;
  log: Logger;
  store: ClusterStore;
  cloud: SimulatedCloud;
  /** rest.administratorToken, or the generated one kept in dataDir. */
  adminToken: string;
  /** cluster.password, or the generated one kept in dataDir. */
  clusterPassword: string;
  catalog: Catalog;
  view: ClusterView;
  events: EventLog;
  ops: NodeOps;
  protocol: NodeProtocol;
  groups: GroupService;
  proxy: WsProxy;
  whip: WhipProxy;
  provisions: ProvisionCache;
  broker: Broker;
  /** broker.rateLimitPerSecond per client address (undefined when 0). */
  brokerLimiter?: RateLimiter;
  metrics: Metrics;
  ready: () => Promise<Readiness>;
  /** DELETE /admin/controller/provision/{host}?force=true (src/autoscaler/reconcile.ts). */
  forceRemoveHost: (host: string) => Promise<unknown>;
  /** Pause and schedules per group. */
  controls: GroupControls;
  /** Dry run of the autoscaler on the live view (acts on nothing). */
  whatIf: (group: string, h: WhatIf, now: number) => Decision[];
  /** Where `npm run build:dashboard` writes the operator dashboard. */
  dashboardDir: string;
  /** The planners over a load curve on a simulated clock (acts on nothing). */
  replay: (group: string, h: WhatIf & Omit<ReplayInput, 'bootMs'> & { bootMs?: number }) => ReplayAnswer;
}

export interface Runtime extends AppDeps {
  lease: Lease;
  /** The autoscaler loop of this instance (status is undefined before start()). */
  autoscaler: {
    status(): AutoscalerStatus | undefined;
    /** Settles when every launch the autoscaler started has ended. */
    idle(): Promise<void>;
  };
  /** Starts background work (autoscaler, multi-instance sync). */
  start(): void;
  /** Hooks the WebSocket proxy onto the HTTP server (when proxy.enabled). */
  attach?(server: import('node:http').Server): void | Promise<void>;
  /** Stops background work and closes stores. */
  close(): Promise<void>;
}

export interface DepsOverrides {
  clock?: Clock;
  log?: Logger;
  /** Where the one-time admin token line goes (default stdout). */
  print?: (line: string) => void;
  /** undici dispatcher for manager → node calls (tests). */
  dispatcher?: Dispatcher;
  /** Directory holding launchconfigs/ and scalingpolicies/ (default: the project root). */
  catalogRoot?: string;
}

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export async function createDeps(config: Config, o: DepsOverrides = {}): Promise<Runtime> {
  const clock = o.clock ?? systemClock;
  const log = o.log ?? createLogger(config.server.logLevel, logDestination(config.server.logFormat));
  const dataDir = resolve(config.server.dataDir);
  const print = o.print ?? ((l: string) => process.stdout.write(l + '\n'));
  const adminToken = resolveAdminToken(config.rest.administratorToken, dataDir, print);
  const clusterPassword = resolveClusterPassword(config.cluster.password, dataDir, print);
  // Classic files carry the published default: it still works, but never silently.
  const classicPassword = clusterPassword === CLASSIC_CLUSTER_PASSWORD;
  if (classicPassword) {
    log.warn('cluster.password is the published classic default "changeme": anyone who can reach /streammanager/cloudwatch can report for your nodes. Remove the key to get a generated password, or set your own.');
  }

  const { store, lease: makeLease } = await openClusterStore(config.config, dataDir);
  const lease = makeLease(log.child({ component: 'lease' }));
  const catalog = await createCatalog({ store, log });
  const root = o.catalogRoot ?? projectRoot;
  await catalog.importDirectories(resolve(root, 'launchconfigs'), resolve(root, 'scalingpolicies'));

  const nodeApi = createNodeApi({ ...config.serverapi, dispatcher: o.dispatcher });
  const cloud = createSimulatedCloud({ config, clock, log, dataDir, nodeApi });

  const view = new ClusterView();
  await syncView(view, store);
  const metrics = createMetrics({ view, clock, classicClusterPassword: classicPassword });
  const events = createEventLog({ store, clock, log });
  events.onRecord = (e) => metrics.scaleEvent(e);

  // Only nodes of this manager that serve clients are reachable through the proxy (never an open relay).
  const resolveTarget = (host: string) => {
    const n = view.nodes.get(host);
    return n && (n.state === 'inservice' || n.state === 'draining') ? { host: n.address, port: n.port } : null;
  };
  const proxy = createWsProxy({ config: config.proxy, log, clock, resolveTarget });
  const whip = createWhipProxy({ config: config.proxy, log, clock, resolveTarget });

  const onNodeGone = (a: string) => {
    proxy.closeSessionsOf(a);
    whip.closeSessionsOf(a);
  };
  const ops = createNodeOps({ config, clock, log, store, cloud, view, catalog, events, onNodeGone });
  const protocol = createNodeProtocol({ config, clock, log, store, view, ops, onReport: (n, lag) => metrics.reportLag(n, lag) });
  const provisions = createProvisionCache({ store, clock });
  await provisions.load();
  const broker = createBroker({ view, clock, config, regions: cloud.regions, provisions, onDecision: (a, o) => metrics.brokerDecision(a, o) });

  const controls = await createGroupControls({ store, clock });
  const settings = settingsFromConfig(config);
  // Lease fencing (design §6): every gain of the autoscaler lease bumps its generation in the store; a tick
  // acts only while its generation is still the store's, and launch intents are written under it.
  const LEASE = 'autoscaler';
  let generation = 0;
  const actuator = createActuator({ ops, events, cloud, clock, log, fence: () => (generation > 0 ? { lease: LEASE, generation } : undefined) });
  const reconcile = createReconciler({
    store,
    cloud,
    view,
    ops,
    events,
    log,
    // The cloud answers within its operation timeout: an intent without an instance after that (and a tick) was never launched.
    launchGraceMs: config.managed.operationTimeoutMilliseconds + 2 * config.autoscaler.tickInterval,
    orphanGraceMs: config.instancecontroller.nodeStateToleranceTime,
  });
  const autoscaler = createAutoscaler({ view, catalog, cloud, settings, actuator, reconcile, log, controls: controls.of });
  const whatIf = (group: string, h: WhatIf, now: number) =>
    planWhatIf({ view, catalog, cloud, settings, inFlight: actuator.inFlight() }, autoscaler.memory, controls.of, group, h, now);
  // A new node reports once the cloud has started it and its first reporting period has passed.
  const bootMs = config.managed.operationTimeoutMilliseconds + config.cluster.reportingSpeed;
  const replayGroup = (group: string, h: WhatIf & Omit<ReplayInput, 'bootMs'> & { bootMs?: number }) =>
    replay({ catalog: hypotheticalCatalog(catalog, view.groups.get(group)?.scalePolicy, h), cloud, settings }, view.groups.get(group)!, controls.of, { ...h, bootMs: h.bootMs ?? bootMs });
  let loop: AutoscalerLoop | undefined;
  const autoscalerStatus = () => {
    const st = loop?.status();
    // lastResult can be large: readiness and metrics get the summary only.
    return st
      ? { leader: st.leader, lastRunAt: st.lastRunAt, lastSuccessAt: st.lastSuccessAt, lastDurationMs: st.lastDurationMs, lastError: st.lastError, ticks: st.ticks }
      : { leader: false, lastRunAt: null, lastSuccessAt: null, lastDurationMs: null, lastError: null, ticks: 0 };
  };
  // proxy_sessions counts WebSocket and WHIP/WHEP sessions alike.
  const proxyStats = () => {
    const st = proxy.stats();
    return { ...st, sessions: st.sessions + whip.stats().sessions };
  };
  metrics.setSources({ proxyStats, autoscalerStatus, pausedGroups: () => controls.pausedGroups() });
  const ready = readinessCheck({ store, lease, autoscaler: autoscalerStatus, onError: (err) => log.warn({ err }, 'readiness: store ping failed') });
  const groups = createGroupService({ clock, log, store, cloud, view, catalog, ops });

  let syncTimer: ReturnType<Clock['setTimeout']> | undefined;
  let closed = false;
  const syncLoop = () => {
    syncTimer = clock.setTimeout(async () => {
      try {
        await Promise.all([syncView(view, store, onNodeGone), catalog.reload(), provisions.reload(), controls.reload()]);
      } catch (err) {
        log.warn({ err }, 'cluster sync from the store failed; keeping the current view');
      }
      if (!closed) syncLoop();
    }, config.server.syncInterval);
  };

  return {
    config,
    build: readBuildInfo(),
    clock,
    log,
    store,
    cloud,
    adminToken,
    clusterPassword,
    catalog,
    view,
    events,
    ops,
    protocol,
    groups,
    proxy,
    whip,
    provisions,
    broker,
    brokerLimiter: createRateLimiter({ ratePerSecond: config.broker.rateLimitPerSecond, burst: burstFor(config.broker.rateLimitPerSecond), clock }),
    metrics,
    ready,
    forceRemoveHost: createForceRemove({ cloud, store, view, events }),
    controls,
    whatIf,
    dashboardDir: resolve(projectRoot, 'dist/dashboard'),
    replay: replayGroup,
    lease,
    autoscaler: {
      status: () => loop?.status(),
      async idle() {
        await loop?.idle();
        await actuator.idle();
      },
    },
    attach(server) {
      if (config.proxy.enabled) proxy.attach(server);
    },
    start() {
      // Several managers may share one MySQL database: pick up what the others wrote.
      if (store.kind === 'mysql') syncLoop();
      loop = startAutoscaler({
        clock,
        intervalMs: config.autoscaler.tickInterval,
        budgetMs: config.autoscaler.tickBudget || 2 * config.autoscaler.tickInterval,
        lease,
        log,
        runOnce: async (now, ctx) => {
          const t0 = performance.now();
          try {
            // Fenced: a tick acts only while its lease generation is still the store's.
            const storeDown = (err: Error) => ({ at: now, groups: 0, planned: 0, results: [], outcomes: [], error: err.message, transient: true, storeDown: true });
            try {
              const current = await store.leaseGeneration(LEASE);
              if (current !== generation) {
                log.error({ generation, current }, 'autoscaler tick refused: stale lease generation (another manager gained the lease since)');
                return { at: now, groups: 0, planned: 0, results: [], outcomes: [], error: `stale lease generation ${generation} (current ${current})`, transient: true };
              }
            } catch (err) {
              if (err instanceof StoreUnavailableError) return storeDown(err);
              throw err;
            }
            // Link repair reads the store first thing each tick: a store that does not answer skips the tick.
            try {
              await repairRelations({ view, store, events }, now);
            } catch (err) {
              if (err instanceof StoreUnavailableError) return storeDown(err);
              log.warn({ err }, 'link repair failed; the next tick retries');
            }
            return await autoscaler.runOnce(now, ctx);
          } finally {
            metrics.autoscalerTick(performance.now() - t0);
          }
        },
        // A new leader must act on the cluster as the store has it, not on its own stale view.
        onLeadership: async () => {
          await Promise.all([syncView(view, store, onNodeGone), catalog.reload(), controls.reload()]);
          generation = await store.nextLeaseGeneration(LEASE, clock.now());
          log.info({ generation }, 'autoscaler lease generation');
        },
      });
    },
    async close() {
      closed = true;
      await loop?.stop();
      await proxy.close();
      await whip.shutdown();
      clock.clearTimeout(syncTimer);
      await protocol.flush();
      await lease.release().catch(() => undefined);
      await cloud.close?.();
      await store.close();
    },
  };
}
