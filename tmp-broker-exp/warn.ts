import { createHttpApp } from '../src/app.ts';
import { createLogger } from '../src/lib/logger.ts';
const lines: string[] = [];
const app = await createHttpApp({ log: createLogger('info', { write: (l: string) => void lines.push(l) }), adminToken: 'x', routes: { root: [async (a) => { a.get('/x', (req, reply) => { reply.send({ a: 1 }); return reply; }); }], admin: [], public: [] } });
await app.inject('/x'); console.log(lines.length, lines[0]?.slice(0, 200));
