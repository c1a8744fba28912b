import { buildView } from './lib.ts';
import { systemClock } from '../src/lib/clock.ts';
import { configSchema } from '../src/config/schema.ts';
import { createBroker } from '../src/broker/broker.ts';
import { brokerRoutes } from '../src/http/routes/broker.ts';
const view = buildView(Date.now());
const config = configSchema.parse({});
const broker = createBroker({ view, clock: systemClock, config, regions: ['us-test1'], provisions: { has: () => false } });
let handler: any;
await brokerRoutes({ broker, view, clock: systemClock, config, regions: ['us-test1'] })({ get: (_p: string, h: any) => { handler = h; } } as any, {});
const reqs = Array.from({ length: 10000 }, (_, i) => ({ params: { version: '4.0', '*': `live/stream${i}` }, query: { action: 'subscribe' } }));
for (let r = 0; r < 6; r++) {
  const N = 300000; const t = performance.now(); let len = 0;
  for (let i = 0; i < N; i++) len += JSON.stringify(handler(reqs[i % 10000])).length;
  console.log('handler+stringify µs', ((performance.now() - t) / N * 1000).toFixed(2));
}
