import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pluginApp } from '../support/http.ts';
import { startHarness } from '../support/harness.ts';
import { dashboardRoutes } from '../../src/http/routes/dashboard.ts';

function dir(t: { after(fn: () => void): void }, files: Record<string, string>) {
  const d = mkdtempSync(join(tmpdir(), 'sm-dash-'));
  for (const [f, body] of Object.entries(files)) writeFileSync(join(d, f), body);
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

it('without a built dashboard, the page answers a JSON 503 that says how to build it', async (t) => {
  const app = await pluginApp(t, { root: [dashboardRoutes({ dir: dir(t, {}) })] });
  const r = await app.inject({ url: '/streammanager/dashboard/' });
  assert.equal(r.statusCode, 503);
  assert.match(r.headers['content-type'] as string, /^application\/json/);
  assert.match(r.json().errorMessage, /npm run build:dashboard/);
  assert.equal(typeof r.json().timestamp, 'number');
});

it('serves the built files with their types and a strict CSP; nothing outside the folder', async (t) => {
  const d = dir(t, { 'index.html': '<!doctype html><p>hi', 'app.js': 'export {}', 'style.css': 'p{}' });
  writeFileSync(join(d, '..', 'secret.txt'), 'no');
  t.after(() => rmSync(join(d, '..', 'secret.txt'), { force: true }));
  const app = await pluginApp(t, { root: [dashboardRoutes({ dir: d })] });

  const page = await app.inject({ url: '/streammanager/dashboard/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /^text\/html/);
  assert.match(page.headers['content-security-policy'] as string, /script-src 'self'/);
  assert.equal((await app.inject({ url: '/streammanager/dashboard/app.js' })).headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await app.inject({ url: '/streammanager/dashboard/style.css' })).statusCode, 200);
  const bare = await app.inject({ url: '/streammanager/dashboard' });
  assert.equal(bare.statusCode, 302);
  assert.equal(bare.headers.location, '/streammanager/dashboard/');

  for (const url of ['/streammanager/dashboard/..%2Fsecret.txt', '/streammanager/dashboard/%2e%2e%2fsecret.txt', '/streammanager/dashboard/nope.js', '/streammanager/dashboard/secret.txt']) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 404, url);
    assert.ok(r.body !== 'no' && r.json().errorMessage, url);
  }
});

it('GET /admin/overview: the autoscaler numbers per role, node details and streams across nodes; admin only', async (t) => {
  const h = await startHarness(t, { config: { 'dashboard.refreshInterval': 1500 } });
  const { group, origin, edges } = await h.cluster(2, 3);
  await origin.publish('live', 's1');
  edges[0].setSubscribers('live', 's1', 200);
  edges[1].setSubscribers('live', 's1', 100);
  for (const n of [origin, ...edges]) await n.report();
  await h.clock.advance(500);

  assert.equal((await fetch(`${h.url}/streammanager/api/4.0/admin/overview`)).status, 401);
  const r = await h.api('GET', '/admin/overview');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.json.now, h.clock.now());
  assert.equal(r.json.refreshMs, 1500);
  const g = r.json.groups.find((x: any) => x.name === group);
  assert.equal(g.state, 'active');
  assert.equal(g.paused, false);
  const edge = g.roles.find((x: any) => x.role === 'edge');
  assert.deepEqual(
    { loadPct: edge.loadPct, threshold: edge.threshold, connections: edge.connections, capacity: edge.capacity, inservice: edge.inservice, minLimit: edge.minLimit },
    { loadPct: 30, threshold: 60, connections: 300, capacity: 1000, inservice: 2, minLimit: 2 },
  );
  const e0 = g.nodes.find((n: any) => n.address === edges[0].host);
  assert.equal(e0.subscribers, 200);
  assert.equal(e0.reportAgeMs, 500);
  assert.deepEqual(e0.parents.map((p: any) => p.address), [origin.host]);
  assert.deepEqual(r.json.streams, [
    { scope: 'live', name: 's1', origins: [origin.host], edges: [edges[0].host, edges[1].host].sort(), others: [], publishers: 1, subscribers: 300, startTime: r.json.streams[0].startTime },
  ]);
  assert.equal((await h.api('PUT', `/admin/nodegroup/${group}/autoscale`, { paused: true })).status, 200);
  assert.equal((await h.api('GET', '/admin/overview')).json.groups.find((x: any) => x.name === group).paused, true);
});
