import type { FastifyInstance, FastifyPluginAsync, RouteOptions } from 'fastify';
import type { ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { API_VERSIONS } from './api-scope.ts';
import { OPERATIONS, type OperationDoc } from './openapi-operations.ts';
import { DOCS_HTML } from './openapi-page.ts';

export const OPENAPI_PATH = '/streammanager/api/openapi.json';
export const DOCS_PATH = '/streammanager/api/docs/';

export interface RouteEntry {
  method: string;
  url: string;
  doc?: OperationDoc;
}

/**
 * Records every route as it is registered (Fastify's onRoute hook, inherited by every plugin), so the
 * document lists routes that carry no description too. Call before any route is added.
 */
export function recordRoutes(app: FastifyInstance): RouteEntry[] {
  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const doc = (r.config as { openapi?: OperationDoc } | undefined)?.openapi;
    for (const method of [r.method].flat()) {
      // HEAD twins of GET routes and CORS preflights say nothing a reader needs.
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      routes.push({ method, url: r.url, doc });
    }
  });
  return routes;
}

type Json = Record<string, unknown>;

const jsonSchema = (s: ZodTypeAny): Json => {
  const { $schema: _, ...rest } = zodToJsonSchema(s, { target: 'openApi3', $refStrategy: 'none' }) as Json;
  return rest;
};

/** `/a/:b/*` → `/a/{b}/{path}`; parameter names in order. */
export function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url
    .split('/')
    .map((seg) => {
      if (seg === '*') {
        params.push('path');
        return '{path}';
      }
      if (!seg.startsWith(':')) return seg;
      const name = seg.slice(1).replace(/\(.*$/, '');
      params.push(name);
      return `{${name}}`;
    })
    .join('/');
  return { path, params };
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['errorMessage', 'timestamp'],
  properties: {
    errorMessage: { type: 'string', description: 'What went wrong and how to fix it' },
    timestamp: { type: 'integer', description: 'Milliseconds since the epoch' },
  },
};

const tagOf = (url: string) => {
  const api = /^\/streammanager\/api\/:version(?:\/admin)?\/([^/:*]+)/.exec(url);
  return api ? api[1] : url.startsWith('/streammanager/api/') ? 'docs' : 'service';
};

function queryParameters(schema: ZodTypeAny) {
  const s = jsonSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({ name, in: 'query', required: s.required?.includes(name) ?? false, schema: p }));
}

/** The OpenAPI 3.0 document of the registered routes. */
export function buildOpenApi(routes: RouteEntry[], info: { version: string }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const ids = new Set<string>();
  for (const r of routes) {
    const { path, params } = openApiPath(r.url);
    const doc: OperationDoc = { ...OPERATIONS[`${r.method} ${r.url}`], ...r.doc };
    const admin = r.url.startsWith('/streammanager/api/:version/admin');
    const method = r.method.toLowerCase();
    let id = `${method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`;
    while (ids.has(id)) id += '_';
    ids.add(id);
    const parameters = [
      ...params.map((name) => ({
        name,
        in: 'path',
        required: true,
        schema: name === 'version' ? { type: 'string', enum: [...API_VERSIONS] } : { type: 'string' },
        ...(name === 'path' ? { description: 'The rest of the path (scope and stream name)' } : {}),
      })),
      ...(doc.query ? queryParameters(doc.query) : []),
    ];
    const status = String(doc.status ?? 200);
    const op: Json = {
      operationId: id,
      tags: [tagOf(r.url)],
      ...(doc.summary ? { summary: doc.summary } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body) } } } } : {}),
      responses: {
        [status]: {
          description: 'Success',
          content: { [doc.produces ?? 'application/json']: { schema: doc.produces ? { type: 'string' } : {} } },
        },
        '4XX': { $ref: '#/components/responses/Error' },
        '5XX': { $ref: '#/components/responses/Error' },
      },
      ...(admin ? { security: [{ accessToken: [] }, { bearer: [] }] } : {}),
    };
    (paths[path] ??= {})[method] = op;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Stream Manager',
      version: info.version,
      description: 'Drop-in replacement for the classic Red5 Pro Stream Manager. Admin routes take the administrator token.',
    },
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      responses: {
        Error: { description: 'The classic error body', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
      securitySchemes: {
        accessToken: { type: 'apiKey', in: 'query', name: 'accessToken' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
  };
}

/** GET the document and a page that renders it (no CDN: the page is served from here). */
export function openApiRoutes(routes: RouteEntry[], info: { version: string }): FastifyPluginAsync {
  let doc: Json | undefined;
  return async (app) => {
    // Built on first request: by then every route is registered.
    app.get(OPENAPI_PATH, async () => (doc ??= buildOpenApi(routes, info)));
    app.get(DOCS_PATH, async (_req, reply) => reply.type('text/html; charset=utf-8').send(DOCS_HTML));
    app.get(DOCS_PATH.slice(0, -1), async (_req, reply) => reply.redirect(DOCS_PATH));
  };
}
