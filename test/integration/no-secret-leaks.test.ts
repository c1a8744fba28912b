import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { WebSocket } from 'ws';
import { startHarness, ADMIN, CLUSTER_PASSWORD, NODE_TOKEN } from '../support/harness.ts';
import { createLogger } from '../../src/lib/logger.ts';

describe('secrets never reach the logs or error bodies', () => {
  it('at debug level, through admin calls, node reports, refusals and the proxy', async (t) => {
    const out = new PassThrough();
    let logs = '';
    out.on('data', (c) => (logs += c));
    const h = await startHarness(t, { log: createLogger('debug', out) });
    const { group, edges, origin } = await h.cluster(150);
    await edges[0].report();
    await origin.publish('live', 's1');
    h.start();
    await h.tick();

    const bodies: string[] = [];
    // Wrong admin token, wrong cluster password, a report for an unknown host.
    bodies.push(await fetch(`${h.url}/streammanager/api/4.0/admin/nodegroup?accessToken=guess-${ADMIN}`).then((r) => r.text()));
    bodies.push(
      await fetch(`${h.url}/streammanager/cloudwatch`, { method: 'POST', headers: { authorization: `Bearer not-${CLUSTER_PASSWORD}` }, body: '{}' }).then((r) => r.text()),
    );
    bodies.push(await h.api('GET', `/admin/nodegroup/${group}`).then((r) => r.text));
    // A proxied session whose query carries a viewer token.
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}/streammanager/?id=s1&host=${edges[0].host}&app=live&token=viewer-secret-123&password=pw-456`);
    await new Promise((r, j) => (ws.once('message', r), ws.once('error', j)));
    ws.close();
    // A refused upgrade with a token.
    const refused = new WebSocket(`${h.url.replace('http', 'ws')}/streammanager/?id=s1&host=10.9.9.9&app=live&token=viewer-secret-789`);
    await new Promise((r) => refused.once('error', r));
    await h.tick();
    await new Promise((r) => setImmediate(r));

    assert.ok(logs.length > 1000, 'debug logging happened');
    assert.match(logs, /accessToken=\[REDACTED\]/, 'URLs carrying the admin token were logged, redacted');
    for (const secret of [ADMIN, CLUSTER_PASSWORD, NODE_TOKEN, 'viewer-secret-123', 'pw-456', 'viewer-secret-789']) {
      assert.ok(!logs.includes(secret), `${secret} leaked into the log`);
      for (const b of bodies) assert.ok(!b.includes(secret), `${secret} leaked into an error body`);
    }
  });
});
