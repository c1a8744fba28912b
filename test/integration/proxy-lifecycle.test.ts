import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startHarness } from '../support/harness.ts';
import { CONNECT_SUCCESS_FRAME } from '../../src/sim/node-sim.ts';
import { client } from '../support/ws.ts';

async function cluster(t: Parameters<typeof startHarness>[0], first: number) {
  const h = await startHarness(t);
  return { h, ...(await h.cluster(first, 3, { report: false })) };
}

/** Opens a proxied socket with the json subprotocol; rejects with the refusal `status` when the upgrade is refused. */
const open = (url: string) => client(url, ['json']);
const refused = (status: number) => (e: { status?: number }) => e.status === status;

describe('proxy through the manager', () => {
  it('reaches in-service nodes only, and closes sessions of terminated nodes but not draining ones', async (t) => {
    const { h, edges } = await cluster(t, 40);
    const wsUrl = (host: string) => `${h.url.replace('http', 'ws')}/streammanager/?id=stream1&host=${host}&app=live&token=a%26b`;

    // Pending nodes (no report yet) are not reachable.
    await assert.rejects(open(wsUrl(edges[0].host)), refused(404));
    for (const e of edges) await e.report();

    const a = await open(wsUrl(edges[0].host));
    const b = await open(wsUrl(edges[1].host));
    assert.equal((await a.frame(1)).data.toString(), CONNECT_SUCCESS_FRAME);
    assert.equal((await b.frame(1)).data.toString(), CONNECT_SUCCESS_FRAME);
    const seen = edges[0].wsConnections.at(-1)!;
    assert.equal(seen.url, '/live?id=stream1&token=a%26b');
    assert.equal(seen.protocol, 'json');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');

    // Not a node of this manager: refused before any connection is made.
    await assert.rejects(open(wsUrl('127.0.0.77')), refused(404));
    await assert.rejects(open(wsUrl('10.0.0.1')), refused(404));

    const listed = await h.api('GET', '/admin/proxy/clients?count=true');
    assert.equal(listed.json.count, 2);

    // Draining keeps its sessions...
    await h.api('POST', '/admin/node/sunset', [edges[1].host]);
    assert.equal(b.ws.readyState, WebSocket.OPEN);
    // ...termination closes them so clients come back through the broker.
    const del = await h.api('DELETE', `/admin/node/${edges[0].host}`);
    assert.equal(del.status, 200, del.text);
    assert.equal((await a.closed).code, 1001);
    assert.equal(b.ws.readyState, WebSocket.OPEN);
    assert.equal((await h.api('GET', '/admin/proxy/clients?filter=healthy')).json.length, 1);
    b.ws.close();
    await b.closed;
  });
});
