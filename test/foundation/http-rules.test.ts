import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { pluginApp, adminUrl, TEST_TOKEN } from '../support/http.ts';
import { createLogger, redactUrl } from '../../src/lib/logger.ts';
import { resolveAdminToken } from '../../src/lib/admin-token.ts';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const echo = async (app: import('fastify').FastifyInstance) => {
  app.post('/echo', async (req) => ({ got: req.body ?? null }));
  app.get('/debug/cloudcontroller', async (_req, reply) => reply.type('text/plain').send('Simulated Cloud Services'));
};

describe('HTTP rules', () => {
  it('serves every API version on one tree and 404s others with the JSON error body', async (t) => {
    const app = await pluginApp(t, { admin: [echo] });
    for (const v of ['2.0', '3.0', '3.1', '4.0']) {
      const r = await app.inject({ url: adminUrl('/debug/cloudcontroller', v) });
      assert.equal(r.statusCode, 200, v);
      assert.equal(r.body, 'Simulated Cloud Services');
    }
    for (const v of ['1.0', '5.0', 'latest']) {
      const r = await app.inject({ url: adminUrl('/debug/cloudcontroller', v) });
      assert.equal(r.statusCode, 404);
      assert.match(r.headers['content-type'] as string, /application\/json/);
      assert.match(r.json().errorMessage, /version/);
      assert.equal(typeof r.json().timestamp, 'number');
    }
    const unknown = await app.inject({ url: '/nope' });
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(Object.keys(unknown.json()).sort(), ['errorMessage', 'timestamp']);
  });

  it('requires the admin token (query or Bearer), 401 JSON otherwise, never 404 for the controller probe', async (t) => {
    const app = await pluginApp(t, { admin: [echo] });
    const none = await app.inject({ url: '/streammanager/api/4.0/admin/debug/cloudcontroller' });
    assert.equal(none.statusCode, 401);
    assert.match(none.json().errorMessage, /accessToken/);
    const wrong = await app.inject({ url: '/streammanager/api/4.0/admin/debug/cloudcontroller?accessToken=nope' });
    assert.equal(wrong.statusCode, 401);
    assert.ok(!wrong.body.includes(TEST_TOKEN) && !wrong.body.includes('nope'));
    const bearer = await app.inject({ url: '/streammanager/api/4.0/admin/debug/cloudcontroller', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    assert.equal(bearer.statusCode, 200);
  });

  it('parses strict JSON, then the unquoted body, with or without a content type', async (t) => {
    const app = await pluginApp(t, { admin: [echo] });
    const unquoted = await app.inject({ method: 'POST', url: adminUrl('/echo'), headers: { 'content-type': 'application/json' }, payload: '{regions:[us-east-1],name:grp1,minLimit:1.0}' });
    assert.deepEqual(unquoted.json().got, { regions: ['us-east-1'], name: 'grp1', minLimit: 1 });
    const noType = await app.inject({ method: 'POST', url: adminUrl('/echo'), payload: '["10.0.0.1"]' });
    assert.deepEqual(noType.json().got, ['10.0.0.1']);
    const empty = await app.inject({ method: 'POST', url: adminUrl('/echo') });
    assert.equal(empty.statusCode, 200);
    const broken = await app.inject({ method: 'POST', url: adminUrl('/echo'), headers: { 'content-type': 'application/json' }, payload: '{regions:[' });
    assert.equal(broken.statusCode, 400);
    assert.match(broken.json().errorMessage, /not valid JSON/);
  });

  it('answers bodies over 2 MB with 413 JSON', async (t) => {
    const app = await pluginApp(t, { admin: [echo] });
    const r = await app.inject({ method: 'POST', url: adminUrl('/echo'), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ x: 'y'.repeat(2 * 1024 * 1024) }) });
    assert.equal(r.statusCode, 413);
    assert.match(r.json().errorMessage, /2 MB/);
  });

  it('adds CORS headers and answers preflight on the API', async (t) => {
    const app = await pluginApp(t, { admin: [echo] });
    const pre = await app.inject({ method: 'OPTIONS', url: '/streammanager/api/4.0/event/live/s1', headers: { origin: 'https://page.example', 'access-control-request-method': 'GET' } });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.match(pre.headers['access-control-allow-methods'] as string, /GET.*POST.*PUT.*DELETE/);
    const get = await app.inject({ url: adminUrl('/debug/cloudcontroller') });
    assert.equal(get.headers['access-control-allow-origin'], '*');
  });

  it('answers GET / with 200 for load balancers', async (t) => {
    const app = await pluginApp(t, {});
    assert.equal((await app.inject({ url: '/' })).statusCode, 200);
  });

  it('redacts tokens from logged URLs and secret fields', async () => {
    assert.equal(redactUrl('/a?accessToken=abc&x=1&token=t'), '/a?accessToken=[REDACTED]&x=1&token=[REDACTED]');
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => (text += c));
    const log = createLogger('info', out);
    log.info({ req: { method: 'GET', url: '/x?accessToken=s3cret' }, password: 'pw1', config: { cluster: { password: 'pw2' } }, headers: { authorization: 'Bearer b' } }, 'line');
    await new Promise((r) => setImmediate(r));
    for (const secret of ['s3cret', 'pw1', 'pw2', 'Bearer b']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  });

  it('generates an admin token once, keeps it, and prefers the configured one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sm-token-'));
    const lines: string[] = [];
    const first = resolveAdminToken('', dir, (l) => lines.push(l));
    assert.match(first, /^[0-9a-f]{48}$/);
    assert.ok(lines[0].includes(first));
    const again = resolveAdminToken('', dir, (l) => lines.push(l));
    assert.equal(again, first);
    assert.ok(!lines[1].includes(first), 'printed only once');
    assert.equal(readFileSync(join(dir, 'admin-token'), 'utf8').trim(), first);
    assert.equal(statSync(join(dir, 'admin-token')).mode & 0o077, 0);
    assert.equal(resolveAdminToken('configured', dir, () => undefined), 'configured');
  });
});
