import type { ZodTypeAny } from 'zod';
import { nodeMessageSchema } from '../cluster/node-protocol.ts';
import { createGroupSchema, resizeSchema, smartCreateSchema } from '../cluster/groups.ts';
import { eventsQuery } from './routes/groups.ts';
import { sunsetBody } from './routes/nodes.ts';
import { bodySchema as provisionsBody } from './routes/provisions.ts';
import { listQuery as proxyClientsQuery } from './routes/proxy-clients.ts';
import { getQuerySchema, provisionBodySchema, purgeQuerySchema } from './routes/stream-provisions.ts';
import { alarmSet, alarmType } from './routes/catalog.ts';

/** What the OpenAPI document says about one route beyond its method and path. */
export interface OperationDoc {
  summary?: string;
  /** The zod schemas the route validates with. */
  body?: ZodTypeAny;
  query?: ZodTypeAny;
  /** Status of a success (default 200). */
  status?: number;
  /** Content type of a success answer other than JSON. */
  produces?: string;
}

/**
 * Descriptions of routes by `METHOD url` as Fastify registers them, using the schemas their handlers
 * parse with. A route missing here is still documented (method, path, parameters, error answers): the
 * document lists every registered route. A route may also carry its description in its own options,
 * `config: { openapi: {...} }`. A test fails when a key here names no route.
 */
const ADMIN = '/streammanager/api/:version/admin';
const API = '/streammanager/api/:version';
export const OPERATIONS: Record<string, OperationDoc> = {
  'GET /': { summary: 'Liveness: 200 while the process serves' },
  'GET /ready': { summary: 'Readiness for load balancers: 200 when the database answers, else 503' },
  'GET /metrics': { summary: 'Prometheus metrics (Bearer metrics.token when set)', produces: 'text/plain' },
  'POST /streammanager/cloudwatch': { summary: 'Node protocol v1: a report or a stream event (cluster password)', body: nodeMessageSchema },
  [`GET ${API}/event/*`]: { summary: 'Broker: the origin (action=broadcast) or edge (action=subscribe) for a stream' },
  [`GET ${ADMIN}/debug/cloudcontroller`]: { summary: 'Name of the cloud controller', produces: 'text/plain' },
  [`GET ${ADMIN}/debug/version`]: { summary: 'Package version and build commit' },
  [`POST ${ADMIN}/nodegroup`]: { summary: 'Create a node group (classic or smart body)', body: createGroupSchema.or(smartCreateSchema), status: 201 },
  [`GET ${ADMIN}/nodegroup`]: { summary: 'List node groups' },
  [`GET ${ADMIN}/nodegroup/:group`]: { summary: 'One node group' },
  [`PUT ${ADMIN}/nodegroup/:group`]: { summary: 'Resize a smart group', body: resizeSchema },
  [`DELETE ${ADMIN}/nodegroup/:group`]: { summary: 'Delete a node group and terminate its nodes' },
  [`POST ${ADMIN}/nodegroup/:group/node/origin`]: { summary: 'Launch an origin in the group', status: 201 },
  [`GET ${ADMIN}/nodegroup/:group/node`]: { summary: 'Nodes of the group' },
  [`GET ${ADMIN}/nodegroup/:group/stats`]: { summary: 'Load and capacity per role' },
  [`GET ${ADMIN}/nodegroup/:group/node/relations`]: { summary: 'Parent/child links (linkstate=true adds their state)' },
  [`GET ${ADMIN}/nodegroup/:group/node/map`]: { summary: 'The cluster as a text tree', produces: 'text/plain' },
  [`GET ${ADMIN}/nodegroup/:group/events`]: { summary: 'Scale event log, newest first', query: eventsQuery },
  [`GET ${ADMIN}/node/:address`]: { summary: 'One node' },
  [`GET ${ADMIN}/node/:address/stats`]: { summary: 'Load of one node' },
  [`DELETE ${ADMIN}/node/:address`]: { summary: 'Terminate one node' },
  [`POST ${ADMIN}/node/sunset`]: { summary: 'Drain and terminate nodes by address', body: sunsetBody },
  [`POST ${ADMIN}/controller/provision`]: { summary: 'Add hosts to the simulated-cloud pool', body: provisionsBody },
  [`POST ${ADMIN}/controller/provisions`]: { summary: 'Add hosts to the simulated-cloud pool', body: provisionsBody },
  [`GET ${ADMIN}/proxy/clients`]: { summary: 'Proxied WebSocket sessions', query: proxyClientsQuery },
  [`POST ${ADMIN}/event/meta/*`]: { summary: 'Create a stream provision', body: provisionBodySchema, status: 201 },
  [`PUT ${ADMIN}/event/meta/*`]: { summary: 'Replace a stream provision', body: provisionBodySchema },
  [`GET ${ADMIN}/event/meta/*`]: { summary: 'One stream provision', query: getQuerySchema },
  [`DELETE ${ADMIN}/event`]: { summary: 'Purge stream provisions', query: purgeQuerySchema },
  [`GET ${ADMIN}/alarm/scaleout/default`]: { summary: 'Default scale-out threshold of a role', query: alarmType },
  [`POST ${ADMIN}/alarm/scaleout/default`]: { summary: 'Set the default scale-out threshold of a role', query: alarmSet },
};
