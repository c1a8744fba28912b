import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../../deps.ts';
import type { AppRoutes } from '../../app.ts';
import { cloudwatchRoutes } from './cloudwatch.ts';
import { catalogRoutes } from './catalog.ts';
import { provisionRoutes } from './provisions.ts';
import { groupRoutes } from './groups.ts';
import { nodeRoutes } from './nodes.ts';
import { proxyRoutes } from './proxy-clients.ts';
import { opsRoutes } from './ops.ts';
import { brokerReader, brokerRoutes } from './broker.ts';
import { whipRoutes } from './whip.ts';
import { brokerFastPath } from '../broker-fast-path.ts';
import { streamProvisionRoutes } from './stream-provisions.ts';
import { autoscaleRoutes } from './autoscale.ts';
import { overviewRoutes } from './overview.ts';
import { dashboardRoutes } from './dashboard.ts';
import { settingsFromConfig } from '../../autoscaler/snapshot.ts';

/** The URL map: which feature plugin is mounted where. Wiring only; handlers live in their own files. */
export function routePlugins(deps: AppDeps): AppRoutes {
  const admin: FastifyPluginAsync[] = [
    async (app) => {
      app.get('/debug/cloudcontroller', async (_req, reply) => reply.type('text/plain; charset=utf-8').send(deps.cloud.name));
      app.get('/debug/version', async () => deps.build);
      // What /ready keeps to itself: the store's state and the autoscaler's last error, for administrators only.
      app.get('/debug/status', async () => deps.ready());
    },
    catalogRoutes({ catalog: deps.catalog }),
    provisionRoutes({ cloud: deps.cloud, forceRemove: deps.forceRemoveHost }),
    groupRoutes({ groups: deps.groups, view: deps.view, store: deps.store, catalog: deps.catalog, controls: deps.controls }),
    autoscaleRoutes({ groups: deps.groups, controls: deps.controls, catalog: deps.catalog, clock: deps.clock, whatIf: deps.whatIf, replay: deps.replay, tickInterval: deps.config.autoscaler.tickInterval }),
    nodeRoutes({ view: deps.view, ops: deps.ops }),
    proxyRoutes({ proxy: deps.proxy, whip: deps.whip, clock: deps.clock }),
    streamProvisionRoutes({ provisions: deps.provisions, view: deps.view, store: deps.store, clock: deps.clock }),
    overviewRoutes({
      view: deps.view,
      catalog: deps.catalog,
      cloud: deps.cloud,
      settings: settingsFromConfig(deps.config),
      clock: deps.clock,
      paused: (group) => deps.controls.of(group).paused,
      refreshMs: deps.config.dashboard.refreshInterval,
    }),
  ];
  const broker = {
    broker: deps.broker,
    view: deps.view,
    clock: deps.clock,
    config: deps.config,
    regions: deps.cloud.regions,
    limiter: deps.brokerLimiter,
    observe: (route: string, method: string, status: number) => deps.metrics.observeRequest(route, method, status),
  };
  const hot: FastifyPluginAsync[] = [brokerRoutes(broker)];
  const root: FastifyPluginAsync[] = [
    cloudwatchRoutes({ clusterPassword: deps.clusterPassword, protocol: deps.protocol }),
    opsRoutes({ metrics: deps.metrics, token: deps.config.metrics.token, ready: deps.ready }),
    whipRoutes({ whip: deps.whip, read: brokerReader(broker) }),
    dashboardRoutes({ dir: deps.dashboardDir }),
  ];
  return { root, admin, public: [], hot, fast: [brokerFastPath(broker)] };
}
