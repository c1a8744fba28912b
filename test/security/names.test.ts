import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startHarness, ADMIN, CLUSTER_PASSWORD, type Harness } from '../support/harness.ts';
import { postNodeMessage } from '../support/cloudwatch.ts';
import { nameProblem } from '../../src/lib/names.ts';

/** A request with the path sent exactly as given (fetch would resolve `..` segments before sending). */
function raw(h: Harness, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const { port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const launchConfig = (name: string) => ({
  launchconfig: {
    name,
    description: 'hostile',
    image: 'managed',
    version: '0.0.2',
    targets: { target: [{ role: 'origin', instanceType: 'standard', connectionCapacity: 10 }] },
    properties: { property: [] },
    metadata: { meta: [] },
  },
});

describe('the one name rule', () => {
  it('states the rule: 1-254 characters, no . or .. segment, no empty segment, no control characters, / only in scopes', () => {
    assert.equal(nameProblem('stream1'), null);
    assert.equal(nameProblem('live/room1', { slashes: true }), null);
    assert.equal(nameProblem('v1.2'), null);
    for (const [bad, o] of [['', {}], ['x'.repeat(255), {}], ['..', {}], ['.', {}], ['a/b', {}], ['a\u0000b', {}], ['a\nb', {}], ['../../tmp', { slashes: true }], ['live//x', { slashes: true }], ['live/./x', { slashes: true }]] as const) {
      assert.ok(nameProblem(bad, o), JSON.stringify(bad));
    }
  });

  it('refuses hostile names with 400 naming the field and the rule, and stores nothing', async (t) => {
    const h = await startHarness(t);

    const lc = await h.api('POST', '/admin/configurations/launchconfig', launchConfig('..'));
    assert.equal(lc.status, 400, lc.text);
    assert.match(lc.json.errorMessage, /name.*'\.' or '\.\.' segment/);
    const lcs = await h.api('GET', '/admin/configurations/launchconfigs');
    assert.ok(!JSON.stringify(lcs.json).includes('"..'), lcs.text);

    const grp = await h.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'simulated-cloud-default-v2', name: '..' });
    assert.equal(grp.status, 400, grp.text);
    assert.match(grp.json.errorMessage, /name/);

    for (const path of ['/streammanager/api/4.0/admin/event/meta/../../tmp/stream1', '/streammanager/api/4.0/admin/event/meta/%2e%2e%2f%2e%2e%2ftmp/stream1']) {
      const p = await raw(h, 'POST', path, { meta: { qos: 3 } });
      assert.equal(p.status, 400, `${path}: ${JSON.stringify(p.json)}`);
      assert.match(p.json.errorMessage, /scope/);
    }
    assert.deepEqual(await h.rt.store.listProvisions(), []);

    const long = 'a'.repeat(300);
    // The raw fast path and the Fastify route (a percent-encoded path falls through to it) answer the same.
    for (const path of [`/streammanager/api/4.0/event/${long}/stream1?action=broadcast`, `/streammanager/api/4.0/event/${long}/stream%31?action=broadcast`]) {
      const b = await raw(h, 'GET', path);
      assert.equal(b.status, 400, JSON.stringify(b.json));
      assert.match(b.json.errorMessage, /Invalid scope: must be at most 254 characters \(got 300\)/);
    }
  });

  it('the node report validator uses the same rule: a stream under a 300-character scope is refused by itself', async (t) => {
    const h = await startHarness(t);
    const { origin } = await h.cluster(40);
    const res = await postNodeMessage(
      h.url,
      { ...origin.buildReport(), streams: [{ scope: 'a'.repeat(300), name: 's', publishers: 1, subscribers: 0 }, { scope: 'live', name: '..', publishers: 1, subscribers: 0 }, { scope: 'live', name: 'ok', publishers: 1, subscribers: 0 }] },
      { password: CLUSTER_PASSWORD },
    );
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.deepEqual(body.rejected.map((r: { index: number }) => r.index), [0, 1]);
    assert.deepEqual(h.rt.view.streamsOf(origin.host).map((s) => s.name), ['ok']);
  });
});
