import { buildView } from './lib.ts';
import { systemClock } from '../src/lib/clock.ts';
import { configSchema } from '../src/config/schema.ts';
import { createBroker } from '../src/broker/broker.ts';
const view = buildView(Date.now());
const config = configSchema.parse({});
const broker = createBroker({ view, clock: systemClock, config, regions: ['us-test1'], provisions: { has: () => false } });
const names = Array.from({ length: 10000 }, (_, i) => `stream${i}`);
for (let round = 0; round < 5; round++) {
  const N = 300000; const t = performance.now();
  let x = 0;
  for (let i = 0; i < N; i++) { const d = broker.decide({ action: 'subscribe', scope: 'live', name: names[i % 10000] }); if (d.ok) x += d.answers.length; }
  const el = performance.now() - t;
  const t2 = performance.now();
  for (let i = 0; i < N; i++) JSON.stringify({ serverAddress: '10.0.0.12', scope: '/live', name: names[i % 10000], region: 'us-test1' });
  const el2 = performance.now() - t2;
  console.log('decide µs', (el / N * 1000).toFixed(2), 'stringify µs', (el2 / N * 1000).toFixed(2), x);
}
