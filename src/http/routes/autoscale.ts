import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ROLES, type Role, type ScalePolicy } from '../../domain/types.ts';
import { nameSchema } from '../../domain/launch-config.ts';
import { parseScalePolicy } from '../../domain/scale-policy.ts';
import type { GroupService } from '../../cluster/groups.ts';
import type { GroupControls } from '../../catalog/group-controls.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import type { Decision, WhatIf } from '../../autoscaler/whatif.ts';
import { MAX_REPLAY_TICKS, type ReplayAnswer, type ReplayInput } from '../../autoscaler/replay.ts';
import type { Clock } from '../../lib/clock.ts';
import { badRequest, isAppError, notFound } from '../../lib/errors.ts';
import { parse } from '../validate.ts';

const groupParams = z.object({ group: nameSchema });
const scheduleParams = z.object({ group: nameSchema, id: z.string().min(1).max(64) });
const perRole = (what: z.ZodNumber) => z.object(Object.fromEntries(ROLES.map((r) => [r, what.optional()])) as Record<Role, z.ZodOptional<z.ZodNumber>>).strict();
const whatIfBody = z
  .object({
    alarms: perRole(z.number().int('must be a whole number').min(1, 'must be 1–100').max(100, 'must be 1–100')).optional(),
    scalePolicy: z.union([nameSchema, z.record(z.unknown())]).optional(),
    loads: perRole(z.number().min(0, 'must be 0–100 (percent)').max(100, 'must be 0–100 (percent)')).optional(),
  })
  .strict();
const replayBody = z
  .object({
    curve: z
      .array(z.object({ at: z.number().int().min(0), role: z.enum(ROLES), connections: z.number().int().min(0).max(10_000_000) }).strict())
      .min(1, 'needs at least one point')
      .max(10_000, 'at most 10000 points'),
    alarms: perRole(z.number().int('must be a whole number').min(1, 'must be 1–100').max(100, 'must be 1–100')).optional(),
    scalePolicy: z.union([nameSchema, z.record(z.unknown())]).optional(),
    initial: perRole(z.number().int().min(0).max(1000)).optional(),
    bootMs: z.number().int().min(0).max(3_600_000).optional(),
    until: z.number().int().min(0).optional(),
  })
  .strict();

/**
 * Autoscaling controls of a group (our extension): dry run (what-if), pause, schedules. Admin plugin.
 * The group is resolved first, so an unknown group is 404 before the body is judged.
 */
export function autoscaleRoutes(deps: {
  groups: Pick<GroupService, 'get'>;
  controls: GroupControls;
  catalog: Pick<Catalog, 'scalePolicy'>;
  clock: Clock;
  whatIf: (group: string, h: WhatIf, now: number) => Decision[];
  replay: (group: string, h: WhatIf & Omit<ReplayInput, 'bootMs'> & { bootMs?: number }) => ReplayAnswer;
  tickInterval: number;
}): FastifyPluginAsync {
  const { groups, controls } = deps;
  const groupOf = (params: unknown) => groups.get(parse(groupParams, params, 'params').group);

  function policyOf(v: string | Record<string, unknown>, current: string): ScalePolicy {
    if (typeof v === 'string') {
      const p = deps.catalog.scalePolicy(v);
      if (!p) throw badRequest(`Invalid body: scalePolicy: no scale policy named ${v}.`, 'SM_VALIDATION');
      return p;
    }
    try {
      return parseScalePolicy(v, { defaultName: current });
    } catch (e) {
      if (isAppError(e) && e.statusCode === 400) throw badRequest(`Invalid body: scalePolicy: ${e.message}`, 'SM_VALIDATION');
      throw e;
    }
  }

  return async (app) => {
    app.post('/nodegroup/:group/whatif', async (req) => {
      const g = groupOf(req.params);
      const b = parse(whatIfBody, req.body ?? {}, 'body');
      const at = deps.clock.now();
      const h: WhatIf = { alarms: b.alarms, loads: b.loads, scalePolicy: b.scalePolicy === undefined ? undefined : policyOf(b.scalePolicy, g.scalePolicy) };
      return { group: g.name, at, decisions: deps.whatIf(g.name, h, at) };
    });

    app.post('/nodegroup/:group/whatif/replay', async (req) => {
      const g = groupOf(req.params);
      const b = parse(replayBody, req.body ?? {}, 'body');
      const from = Math.min(...b.curve.map((p) => p.at));
      const to = b.until ?? Math.max(...b.curve.map((p) => p.at)) + deps.tickInterval;
      if (to < from) throw badRequest('Invalid body: until: must not be before the first curve point', 'SM_VALIDATION');
      if ((to - from) / deps.tickInterval > MAX_REPLAY_TICKS) {
        throw badRequest(`Invalid body: curve: spans more than ${MAX_REPLAY_TICKS} autoscaler ticks of ${deps.tickInterval} ms; replay a shorter period`, 'SM_VALIDATION');
      }
      const scalePolicy = b.scalePolicy === undefined ? undefined : policyOf(b.scalePolicy, g.scalePolicy);
      return { group: g.name, ...deps.replay(g.name, { ...b, scalePolicy }) };
    });

    const pauseJson = (group: string) => {
      const c = controls.of(group);
      return { group, paused: c.paused, replaceDead: c.replaceDead };
    };
    app.get('/nodegroup/:group/autoscale', async (req) => pauseJson(groupOf(req.params).name));
    app.put('/nodegroup/:group/autoscale', async (req) => {
      const g = groupOf(req.params);
      await controls.setPause(g.name, req.body);
      return pauseJson(g.name);
    });

    app.get('/nodegroup/:group/schedule', async (req) => controls.of(groupOf(req.params).name).schedules);
    app.post('/nodegroup/:group/schedule', async (req, reply) => reply.code(201).send(await controls.addSchedule(groupOf(req.params).name, req.body)));
    app.get('/nodegroup/:group/schedule/:id', async (req) => {
      const { id } = parse(scheduleParams, req.params, 'params');
      const g = groupOf(req.params);
      const s = controls.of(g.name).schedules.find((x) => x.id === id);
      if (!s) throw notFound(`Group ${g.name} has no schedule ${id}.`);
      return s;
    });
    app.put('/nodegroup/:group/schedule/:id', async (req) => {
      const { id } = parse(scheduleParams, req.params, 'params');
      return controls.updateSchedule(groupOf(req.params).name, id, req.body);
    });
    app.delete('/nodegroup/:group/schedule/:id', async (req) => {
      const { id } = parse(scheduleParams, req.params, 'params');
      return controls.deleteSchedule(groupOf(req.params).name, id);
    });
  };
}
