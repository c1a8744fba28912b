import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { Catalog, CatalogAlarm } from '../../catalog/catalog.ts';
import { lenientInt, roleSchema } from '../../domain/launch-config.ts';
import { nameSchema } from '../../lib/names.ts';
import { parse } from '../validate.ts';
import { notFound } from '../../lib/errors.ts';

/**
 * Launch configurations (L1–L4), scale policies (P1–P4) and scale-out alarms (A1–A2), reference §2.3–2.5.
 * Admin plugin: paths are relative to `/streammanager/api/:version/admin`. Served on every API version
 * (the classic added the configuration routes in 3.0; older clients never call them, so no gate is needed).
 */

const nameParams = z.object({ name: nameSchema });
const copyParams = z.object({ name: nameSchema, newName: nameSchema });

export const alarmType = z.object({ type: roleSchema });
export const alarmSet = z.object({ type: roleSchema, threshold: lenientInt({ min: 1, max: 100 }) });

/** The classic alarm JSON (reference §2.3): only scale-out alarms on connection percentage exist. */
function alarmBody(a: CatalogAlarm) {
  return {
    id: a.id,
    type: 'SCALEOUTALARM',
    metric: 'CONNECTIONS',
    unit: 'PERCENTAGE',
    threshold: a.threshold,
    comparator: 'GREATERTHAN',
    targetType: 'GROUP',
  };
}

export function catalogRoutes(deps: { catalog: Catalog }): FastifyPluginAsync {
  const { catalog } = deps;

  return async (app) => {
    // ---- launch configurations
    const LC = '/configurations/launchconfig';

    app.post(LC, async (req, reply) => {
      const doc = await catalog.createLaunchConfig(req.body);
      // Top-level `name` as well: terraform reads `.name` of this answer, the docs show only the wrapper (conflict #1).
      return reply.code(201).send({ launchconfig: doc, name: doc.name });
    });

    // Admin reads go to the store first: another manager instance may have changed the catalog.
    app.get(LC, async () => {
      await catalog.reload();
      return catalog.launchConfigNames();
    });

    app.get(`${LC}/:name`, async (req) => {
      const { name } = parse(nameParams, req.params, 'path');
      await catalog.reload();
      const doc = catalog.launchConfig(name);
      if (!doc) throw notFoundLc(name);
      return { launchconfig: doc };
    });

    app.put(`${LC}/:name`, async (req) => {
      const { name } = parse(nameParams, req.params, 'path');
      return { launchconfig: await catalog.updateLaunchConfig(name, req.body) };
    });

    app.delete(`${LC}/:name`, async (req) => {
      const { name } = parse(nameParams, req.params, 'path');
      return { launchconfig: await catalog.deleteLaunchConfig(name) };
    });

    app.post(`${LC}/:name/copy/:newName`, async (req, reply) => {
      const { name, newName } = parse(copyParams, req.params, 'path');
      return reply.code(201).send({ launchconfig: await catalog.copyLaunchConfig(name, newName) });
    });

    // ---- scale policies
    const SP = '/configurations/scalepolicy';

    app.post(SP, async (req, reply) => {
      const doc = await catalog.createScalePolicy(req.body);
      return reply.code(201).send({ policy: doc, name: doc.name });
    });

    app.get(SP, async () => {
      await catalog.reload();
      return catalog.scalePolicyNames();
    });

    app.get(`${SP}/:name`, async (req) => {
      const { name } = parse(nameParams, req.params, 'path');
      await catalog.reload();
      const doc = catalog.scalePolicy(name);
      if (!doc) throw notFoundSp(name);
      return { policy: doc };
    });

    app.put(`${SP}/:name`, async (req) => {
      const { name } = parse(nameParams, req.params, 'path');
      return { policy: await catalog.updateScalePolicy(name, req.body) };
    });

    app.delete(`${SP}/:name`, async (req) => {
      const { name } = parse(nameParams, req.params, 'path');
      return { policy: await catalog.deleteScalePolicy(name) };
    });

    app.post(`${SP}/:name/copy/:newName`, async (req, reply) => {
      const { name, newName } = parse(copyParams, req.params, 'path');
      return reply.code(201).send({ policy: await catalog.copyScalePolicy(name, newName) });
    });

    // ---- scale-out alarms (one per role, shared by every group)
    app.get('/alarm/scaleout/default', async (req) => {
      const { type } = parse(alarmType, req.query, 'query');
      await catalog.reload();
      return alarmBody(catalog.alarm(type));
    });

    app.post('/alarm/scaleout/default', async (req) => {
      const { type, threshold } = parse(alarmSet, req.query, 'query');
      return alarmBody(await catalog.setThreshold(type, threshold));
    });
  };
}

const notFoundLc = (name: string) => notFound(`No launch configuration named ${name}.`);
const notFoundSp = (name: string) => notFound(`No scale policy named ${name}.`);
