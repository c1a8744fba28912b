import Fastify, { LogController } from 'fastify';
import type { AddressInfo } from 'node:net';
import { startClient, buildView } from './lib.ts';
import { createLogger } from '../src/lib/logger.ts';
import { systemClock } from '../src/lib/clock.ts';
import { configSchema } from '../src/config/schema.ts';
import { createBroker } from '../src/broker/broker.ts';
import { brokerRoutes } from '../src/http/routes/broker.ts';
import { installErrorHandling } from '../src/http/error-handler.ts';
import { notFound } from '../src/lib/errors.ts';

const view = buildView(Date.now());
const config = configSchema.parse({});
const broker = createBroker({ view, clock: systemClock, config, regions: ['us-test1'], provisions: { has: () => false } });
const plugin = brokerRoutes({ broker, view, clock: systemClock, config, regions: ['us-test1'] });
const VERSIONS = ['2.0', '3.0', '3.1', '4.0'];

async function build(opts: { logger: boolean; asyncHooks: boolean; cbHooks: boolean; sharedLogger: boolean }) {
  const log = createLogger('info', { write() {} });
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: log as any, logController: new LogController({ disableRequestLogging: true }) } : {}),
    ...(opts.sharedLogger ? { childLoggerFactory: (logger: any) => logger } : {}),
    routerOptions: { maxParamLength: 1024 },
  } as any);
  installErrorHandling(app);
  if (opts.asyncHooks) {
    app.addHook('onResponse', async (req, reply) => { if ((req.log as any).isLevelEnabled('debug')) req.log.debug('x'); });
    app.addHook('onRequest', async (req, reply) => { if (!req.url.startsWith('/streammanager/api/')) return; reply.header('Access-Control-Allow-Origin', '*'); reply.header('Access-Control-Expose-Headers', 'Access-Control-Allow-Origin'); });
  }
  if (opts.cbHooks) {
    app.addHook('onRequest', (req, reply, done) => { if (req.url.startsWith('/streammanager/api/')) { reply.header('Access-Control-Allow-Origin', '*'); reply.header('Access-Control-Expose-Headers', 'Access-Control-Allow-Origin'); } done(); });
  }
  await app.register(async (api) => {
    if (opts.asyncHooks) api.addHook('onRequest', async (req) => { const v = (req.params as any).version; if (!VERSIONS.includes(v)) throw notFound('x'); });
    if (opts.cbHooks) api.addHook('onRequest', (req, _r, done) => { const v = (req.params as any).version; done(VERSIONS.includes(v) ? undefined : notFound('x')); });
    await api.register(plugin);
  }, { prefix: '/streammanager/api/:version' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as AddressInfo).port };
}

const bare = Fastify(); bare.get('/bare', () => ({ ok: true })); await bare.listen({ port: 0, host: '127.0.0.1' });
const bp = (bare.server.address() as AddressInfo).port;
const variants: [string, any][] = [
  ['nologger nohooks', { logger: false, asyncHooks: false, cbHooks: false, sharedLogger: false }],
  ['logger nohooks', { logger: true, asyncHooks: false, cbHooks: false, sharedLogger: false }],
  ['logger shared nohooks', { logger: true, asyncHooks: false, cbHooks: false, sharedLogger: true }],
  ['logger asynchooks (current)', { logger: true, asyncHooks: true, cbHooks: false, sharedLogger: false }],
  ['logger cbhooks', { logger: true, asyncHooks: false, cbHooks: true, sharedLogger: false }],
  ['logger shared cbhooks', { logger: true, asyncHooks: false, cbHooks: true, sharedLogger: true }],
];
const built = [] as [string, number][];
for (const [n, o] of variants) built.push([n, (await build(o)).port]);
const c = await startClient();
const subs = Array.from({ length: 10000 }, (_, i) => `/streammanager/api/4.0/event/live/stream${i}?action=subscribe`);
await c.run({ port: bp, paths: ['/bare'], connections: 32, durationMs: 1000 });
for (const [, p] of built) await c.run({ port: p, paths: subs, connections: 32, durationMs: 500 });
const res = new Map<string, number[]>();
for (let round = 0; round < 3; round++) {
  for (const [name, port, paths] of [['bare', bp, ['/bare']] as const, ...built.map(([n, p]) => [n, p, subs] as const)]) {
    const u0 = process.cpuUsage();
    const r = await c.run({ port, paths: paths as string[], connections: 32, durationMs: 1500 });
    const u = process.cpuUsage(u0);
    (res.get(name) ?? res.set(name, []).get(name)!).push((u.user + u.system) / r.requests); console.log(name, 'user', (u.user / r.requests).toFixed(1), 'sys', (u.system / r.requests).toFixed(1), 'rps', Math.round(r.requests / r.elapsedMs * 1000));
  }
}
for (const [n, v] of res) console.log(n.padEnd(30), 'µs/req', v.map(x => x.toFixed(1)).join(' '), 'min', Math.min(...v).toFixed(1));
c.child.send('exit'); process.exit(0);
