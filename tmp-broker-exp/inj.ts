import { buildView } from './lib.ts';
import { createHttpApp } from '../src/app.ts';
import { createLogger } from '../src/lib/logger.ts';
import { systemClock } from '../src/lib/clock.ts';
import { configSchema } from '../src/config/schema.ts';
import { createBroker } from '../src/broker/broker.ts';
import { brokerRoutes } from '../src/http/routes/broker.ts';
const view = buildView(Date.now());
const config = configSchema.parse({});
const broker = createBroker({ view, clock: systemClock, config, regions: ['us-test1'], provisions: { has: () => false } });
let logs = 0;
const app = await createHttpApp({ log: createLogger('info', { write() { logs++; } }), adminToken: 'x', routes: { root: [], admin: [], public: [brokerRoutes({ broker, view, clock: systemClock, config, regions: ['us-test1'] }), async (a) => { a.get('/ev/*', (req) => ({ ok: (req.params as any)['*'], q: (req.query as any).action })); }] } });
await app.ready();
const subs = Array.from({ length: 10000 }, (_, i) => `/streammanager/api/4.0/event/live/stream${i}?action=subscribe`);
const evs = subs.map(s => s.replace('/event/', '/ev/'));
async function run(paths: string[], N: number) { const t = performance.now(); for (let i = 0; i < N; i++) await app.inject(paths[i % paths.length]); return (performance.now() - t) / N * 1000; }
for (let r = 0; r < 4; r++) console.log('ev', (await run(evs, 20000)).toFixed(1), 'sub', (await run(subs, 20000)).toFixed(1), 'logs', logs);
process.exit(0);
