import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { parse } from '../validate.ts';
import type { SimulatedCloud } from '../../cloud/simulated/simulated-cloud.ts';

/**
 * Simulated cloud provisioning, classic routes C1–C7 (reference/classic-api.md §2.11). Admin plugin:
 * paths are after `/admin`. Entry-level validation (zones, hosts, duplicates, the node ping) lives in the
 * cloud so that every caller gets the same rules; here only the shape of the request is checked.
 */

/** An array of provisions, or one provision object (the classic docs show both). */
export const bodySchema = z.union([z.array(z.unknown()), z.record(z.unknown())], {
  errorMap: () => ({ message: 'send a provision object {location, host, instanceType} or an array of them' }),
});
const hostParams = z.object({ host: z.string().trim().min(1, 'must not be empty').max(254, 'must be at most 254 characters') });

const removeQuery = z.object({ force: z.enum(['true', 'false']).optional() });

export function provisionRoutes(deps: { cloud: SimulatedCloud; forceRemove: (host: string) => Promise<unknown> }): FastifyPluginAsync {
  const { cloud } = deps;
  return async (app) => {
    // C1: add (both spellings exist in the classic docs).
    const add = async (req: { body: unknown }) => {
      const body = parse(bodySchema, req.body, 'body');
      return cloud.addProvisions(Array.isArray(body) ? body : [body]);
    };
    app.post('/controller/provisions', add);
    app.post('/controller/provision', add);

    // C2: all.
    const all = async () => cloud.listProvisions('all');
    app.get('/controller/provision', all);
    app.get('/controller/provisions', all);
    // C3 / C4: free ones; in use or TERMINATED.
    app.get('/controller/provision/available', async () => cloud.listProvisions('available'));
    app.get('/controller/provision/unavailable', async () => cloud.listProvisions('unavailable'));

    // C5: remove one (409 while it serves a group). `?force=true`: also an ASSIGNED host that serves no
    // live node (a launch leaked by a crash), 409 while it does.
    app.delete('/controller/provision/:host', async (req) => {
      const host = parse(hostParams, req.params, 'params').host;
      return parse(removeQuery, req.query, 'query').force === 'true' ? deps.forceRemove(host) : cloud.removeProvision(host);
    });
    // C6: reset a TERMINATED host after its reboot.
    app.post('/controller/provision/:host', async (req) => cloud.resetProvision(parse(hostParams, req.params, 'params').host));

    // C7: remove all. Classic answers with no body; a count is more useful and harmless to clients.
    const removeAll = async () => {
      const r = await cloud.removeAllProvisions();
      return r.retained.length ? { count: r.count, retained: r.retained, timestamp: r.timestamp } : { count: r.count, timestamp: r.timestamp };
    };
    app.delete('/controller/provision', removeAll);
    app.delete('/controller/provisions', removeAll);
  };
}
