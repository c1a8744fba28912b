import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { startClient, buildView } from './lib.ts';
import { createHttpApp } from '../src/app.ts';
import { createLogger } from '../src/lib/logger.ts';
import { systemClock } from '../src/lib/clock.ts';
import { configSchema } from '../src/config/schema.ts';
import { createBroker } from '../src/broker/broker.ts';
import { brokerRoutes } from '../src/http/routes/broker.ts';

const view = buildView(Date.now());
const config = configSchema.parse({});
const broker = createBroker({ view, clock: systemClock, config, regions: ['us-test1'], provisions: { has: () => false } });
const app = await createHttpApp({ log: createLogger('info', { write() {} }), adminToken: 'x', routes: { root: [async (a) => { a.get('/rootping', () => ({ ok: true })); }], admin: [], public: [brokerRoutes({ broker, view, clock: systemClock, config, regions: ['us-test1'] }), async (a) => { a.get('/ping', () => ({ ok: true })); a.get('/ev/*', (req) => ({ ok: (req.params as any)['*'], q: (req.query as any).action })); }] } });
const bare = Fastify();
bare.get('/bare', () => ({ ok: true }));
bare.get('/streammanager/api/:version/event/*', (req) => ({ ok: (req.params as any)['*'] }));
await app.listen({ port: 0, host: '127.0.0.1' });
await bare.listen({ port: 0, host: '127.0.0.1' });
const ap = (app.server.address() as AddressInfo).port, bp = (bare.server.address() as AddressInfo).port;
const c = await startClient();
const subs = Array.from({ length: 10000 }, (_, i) => `/streammanager/api/4.0/event/live/stream${i}?action=subscribe`);
const phases: [string, number, string[]][] = [
  ['bare', bp, ['/bare']],
  ['bare wildcard', bp, subs],
  ['shell rootping', ap, ['/rootping']],
  ['shell api ping', ap, ['/streammanager/api/4.0/ping']],
  ['shell api wildcard', ap, subs.map(s => s.replace('/event/', '/ev/'))],
  ['subscribe', ap, subs],
  ['bare again', bp, ['/bare']],
];
await c.run({ port: bp, paths: ['/bare'], connections: 32, durationMs: 1000 });
await c.run({ port: ap, paths: subs, connections: 32, durationMs: 1000 });
for (const [name, port, paths] of phases) {
  const u0 = process.cpuUsage(); const t0 = performance.now();
  const r = await c.run({ port, paths, connections: 32, durationMs: 3000 });
  const u = process.cpuUsage(u0); const el = (performance.now() - t0) * 1000;
  console.log(name.padEnd(22), Math.round(r.requests / r.elapsedMs * 1000), 'rps p50', r.p50.toFixed(3), 'non2xx', r.non2xx, 'srvcpu', ((u.user + u.system) / el).toFixed(2), 'us/req', ((u.user+u.system)/r.requests).toFixed(1));
}
c.child.send('exit'); process.exit(0);
