import { z } from 'zod';

/**
 * The manager's reply to a report or stream event (design §4), as a node reads it: leniently, since a
 * newer manager may add fields. Shared by the simulator and the Red5 Pro node agent.
 */
const rejectedSchema = z.array(z.object({ index: z.number().int().nullish(), reason: z.string().nullish() }).passthrough()).nullish();

export const replySchema = z
  .object({
    status: z.enum(['assigned', 'unassigned', 'unknown']),
    identifier: z.string().nullish(),
    group: z.string().nullish(),
    role: z.string().nullish(),
    parents: z.array(z.string()).nullish(),
    reportingSpeed: z.number().int().positive().nullish(),
    drain: z.boolean().nullish(),
    /** Stream (and link) items of the report the manager refused while applying the rest. */
    rejected: rejectedSchema,
    rejectedLinks: rejectedSchema,
  })
  .passthrough();
export type ReplyBody = z.infer<typeof replySchema>;
