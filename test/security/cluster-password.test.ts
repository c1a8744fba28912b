import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/harness.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { PassThrough } from 'node:stream';

const unknownReport = { type: 'report', host: '127.0.0.99', port: 8081, connections: { publishers: 0, subscribers: 0 } };

function post(h: Harness, password: string, body: unknown = unknownReport) {
  return fetch(`${h.url}/streammanager/cloudwatch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${password}` },
    body: JSON.stringify(body),
  });
}

describe('cluster password', () => {
  it('is generated when not configured: the classic changeme gets 401, the generated one (kept in dataDir) works', async (t) => {
    const h = await startHarness(t, { config: { 'cluster.password': '' } });
    const kept = readFileSync(join(h.dataDir, 'cluster-password'), 'utf8').trim();
    assert.match(kept, /^[0-9a-f]{48}$/);
    assert.equal(h.rt.clusterPassword, kept);
    const classic = await post(h, 'changeme');
    assert.equal(classic.status, 401);
    assert.equal((await post(h, kept)).status, 200);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    assert.match(metrics, /^cluster_password_classic_default 0$/m);
  });

  it('an explicitly configured changeme works, warns at start and shows in /metrics', async (t) => {
    const out = new PassThrough();
    let logged = '';
    out.on('data', (c) => (logged += c));
    const h = await startHarness(t, { config: { 'cluster.password': 'changeme' }, log: createLogger('warn', out) });
    assert.equal((await post(h, 'changeme')).status, 200);
    await new Promise((r) => setImmediate(r));
    assert.match(logged, /published classic default/);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    assert.match(metrics, /^cluster_password_classic_default 1$/m);
  });

  it('checks the password before reading the body: a wrong password with an unparseable body is 401, not 400', async (t) => {
    const h = await startHarness(t);
    const res = await fetch(`${h.url}/streammanager/cloudwatch`, { method: 'POST', headers: { authorization: 'Bearer wrong' }, body: '{not json at all' });
    assert.equal(res.status, 401);
  });
});
