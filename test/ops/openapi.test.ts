import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { z } from 'zod';
import { startHarness } from '../support/harness.ts';
import { pluginApp } from '../support/http.ts';
import { OPERATIONS } from '../../src/http/openapi-operations.ts';
import { DOCS_PATH, OPENAPI_PATH } from '../../src/http/openapi.ts';
import { toPostman } from '../../src/http/postman.ts';

type Doc = { info: { title: string; version: string }; paths: Record<string, Record<string, Record<string, unknown>>> };
const fastifyUrl = (path: string) => path.replace(/\{path\}/g, '*').replace(/\{(\w+)\}/g, ':$1');

describe('OpenAPI document', () => {
  it('of the whole manager is valid OpenAPI 3, lists every described route and no route that is not there', async (t) => {
    const h = await startHarness(t);
    const r = await h.app.inject({ url: OPENAPI_PATH });
    assert.equal(r.statusCode, 200);
    const doc = r.json() as Doc;
    assert.match(String((doc as unknown as { openapi: string }).openapi), /^3\./);
    await SwaggerParser.validate(structuredClone(doc) as never);

    const ops = Object.entries(doc.paths).flatMap(([path, m]) => Object.keys(m).map((method) => `${method.toUpperCase()} ${fastifyUrl(path)}`));
    for (const key of Object.keys(OPERATIONS)) assert.ok(ops.includes(key), `OPERATIONS names a route that is not registered: ${key}`);
    for (const op of ops) {
      const [method, url] = op.split(' ');
      assert.ok(h.app.hasRoute({ method: method as 'GET', url }), `documented but not registered: ${op}`);
    }
    // The schemas the routes validate with are in it.
    const create = doc.paths['/streammanager/api/{version}/admin/nodegroup'].post as { requestBody: unknown; security: unknown };
    assert.match(JSON.stringify(create.requestBody), /launchConfig/);
    assert.ok(create.security, 'admin routes name the token');
    const events = doc.paths['/streammanager/api/{version}/admin/nodegroup/{group}/events'].get as { parameters: { name: string }[] };
    assert.deepEqual(events.parameters.map((p) => p.name).sort(), ['group', 'limit', 'offset', 'version']);
    assert.ok(doc.paths['/streammanager/cloudwatch'].post.requestBody);

    const page = await h.app.inject({ url: DOCS_PATH });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /openapi\.json/);
    assert.doesNotMatch(page.body, /<script[^>]+src=|<link[^>]+href="http/, 'no CDN: the page is self-contained');
  });

  it('lists a route another plugin adds without any description, with its parameters and the admin token', async (t) => {
    const app = await pluginApp(t, {
      admin: [async (a) => void a.get('/widgets/:id', async () => ({}))],
      root: [async (a) => a.register(async (inner) => void inner.post('/hook/*', async () => ({})), { prefix: '/extra' })],
    });
    const doc = (await app.inject({ url: OPENAPI_PATH })).json() as Doc;
    await SwaggerParser.validate(structuredClone(doc) as never);
    const widget = doc.paths['/streammanager/api/{version}/admin/widgets/{id}']?.get as { parameters: { name: string }[]; security?: unknown };
    assert.ok(widget, Object.keys(doc.paths).join(', '));
    assert.deepEqual(widget.parameters.map((p) => p.name), ['version', 'id']);
    assert.ok(widget.security);
    const hook = doc.paths['/extra/hook/{path}']?.post as { security?: unknown };
    assert.ok(hook);
    assert.equal(hook.security, undefined);
  });

  it('takes a description from the route itself (config.openapi)', async (t) => {
    const body = z.object({ colour: z.enum(['red', 'blue']) });
    const app = await pluginApp(t, { root: [async (a) => void a.post('/paint', { config: { openapi: { summary: 'Paint', body } } }, async () => ({}))] });
    const doc = (await app.inject({ url: OPENAPI_PATH })).json() as Doc;
    const op = doc.paths['/paint'].post as { summary: string; requestBody: unknown };
    assert.equal(op.summary, 'Paint');
    assert.match(JSON.stringify(op.requestBody), /"enum":\["red","blue"\]/);
  });

  it('exports as a Postman collection with one request per operation', async (t) => {
    const app = await pluginApp(t, { admin: [async (a) => void a.get('/widgets/:id', async () => ({}))] });
    const doc = (await app.inject({ url: OPENAPI_PATH })).json() as Doc;
    const col = toPostman(doc);
    const requests = col.item.flatMap((f) => f.item as { request: { method: string; url: { raw: string; query?: { key: string }[] } } }[]);
    assert.equal(requests.length, Object.values(doc.paths).reduce((n, m) => n + Object.keys(m).length, 0));
    const widget = requests.find((r) => r.request.url.raw === '{{baseUrl}}/streammanager/api/{{version}}/admin/widgets/:id');
    assert.ok(widget);
    assert.equal(widget.request.method, 'GET');
    assert.deepEqual(widget.request.url.query?.map((q) => q.key), ['accessToken']);
  });
});
