import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { startHarness } from '../support/harness.ts';
import { CONNECT_SUCCESS_FRAME } from '../../src/sim/node-sim.ts';

async function cluster(t: Parameters<typeof startHarness>[0], first: number) {
  const h = await startHarness(t);
  return { h, ...(await h.cluster(first, 3, { report: false })) };
}

/** Opens a proxied socket and resolves with it and its first frame, or rejects with the refusal status. */
function open(url: string): Promise<{ ws: WebSocket; first: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'json');
    ws.once('message', (data) => resolve({ ws, first: data.toString() }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

describe('proxy through the manager', () => {
  it('reaches in-service nodes only, and closes sessions of terminated nodes but not draining ones', async (t) => {
    const { h, edges } = await cluster(t, 40);
    const wsUrl = (host: string) => `${h.url.replace('http', 'ws')}/streammanager/?id=stream1&host=${host}&app=live&token=a%26b`;

    // Pending nodes (no report yet) are not reachable.
    await assert.rejects(open(wsUrl(edges[0].host)), (e: { status?: number }) => e.status === 404);
    for (const e of edges) await e.report();

    const a = await open(wsUrl(edges[0].host));
    const b = await open(wsUrl(edges[1].host));
    assert.equal(a.first, CONNECT_SUCCESS_FRAME);
    const seen = edges[0].wsConnections.at(-1)!;
    assert.equal(seen.url, '/live?id=stream1&token=a%26b');
    assert.equal(seen.protocol, 'json');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');

    // Not a node of this manager: refused before any connection is made.
    await assert.rejects(open(wsUrl('127.0.0.77')), (e: { status?: number }) => e.status === 404);
    await assert.rejects(open(wsUrl('10.0.0.1')), (e: { status?: number }) => e.status === 404);

    const listed = await h.api('GET', '/admin/proxy/clients?count=true');
    assert.equal(listed.json.count, 2);

    // Draining keeps its sessions...
    await h.api('POST', '/admin/node/sunset', [edges[1].host]);
    assert.equal(b.ws.readyState, WebSocket.OPEN);
    // ...termination closes them so clients come back through the broker.
    const closed = once(a.ws, 'close');
    const del = await h.api('DELETE', `/admin/node/${edges[0].host}`);
    assert.equal(del.status, 200, del.text);
    const [code] = await closed;
    assert.equal(code, 1001);
    assert.equal(b.ws.readyState, WebSocket.OPEN);
    assert.equal((await h.api('GET', '/admin/proxy/clients?filter=healthy')).json.length, 1);
    b.ws.close();
    await once(b.ws, 'close');
  });
});
