import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startHarness, type Harness } from '../support/harness.ts';
import type { SimNode } from '../../src/sim/node-sim.ts';

const OFFER = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly\r\n';
const CANDIDATE = 'a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function send(h: Harness, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const res = await request(h.url + path, { method: method as 'POST', headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const offer = (h: Harness, kind: 'whip' | 'whep', path: string, headers: Record<string, string> = {}, body = OFFER) =>
  send(h, 'POST', `/as/v1/proxy/${kind}/${path}`, { 'content-type': 'application/sdp', ...headers }, body);

const asked = (nodes: SimNode[]) => nodes.reduce((n, x) => n + x.whipRequests.length, 0);

async function cluster(t: Parameters<typeof startHarness>[0], first: number) {
  const h = await startHarness(t);
  const c = await h.cluster(first);
  for (const n of c.nodes) await n.report(); // links established
  return { h, ...c };
}

describe('WHIP/WHEP through the manager', () => {
  it('WHIP: the offer reaches the origin unchanged; the answer comes back with a manager session URL that PATCH and DELETE follow', async (t) => {
    const { h, origin, nodes } = await cluster(t, 200);
    const r = await offer(h, 'whip', 'live/show?requestId=abc&region=us-test1', {
      authorization: 'Bearer publish-token',
      cookie: 'sm=secret',
      'user-agent': 'OBS-Studio/30.1',
    });
    assert.equal(r.status, 201, r.text);

    const seen = origin.whipRequests.at(-1)!;
    assert.equal(asked(nodes), 1, 'one request, to the origin only');
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/live/whip/endpoint/show?requestId=abc', 'broker parameters stay on the manager');
    assert.equal(seen.body, OFFER, 'offer unchanged');
    assert.equal(seen.headers['content-type'], 'application/sdp');
    assert.equal(seen.headers.authorization, 'Bearer publish-token');
    assert.equal(seen.headers.cookie, undefined, 'manager cookies are not forwarded');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-for-meta-type'], 'DIRECT');
    assert.equal(seen.headers['user-agent'], 'OBS-Studio/30.1');

    // The node's answer, status and headers unchanged; only Location is the manager's.
    assert.equal(r.text, seen.answer);
    assert.equal(r.headers['content-type'], 'application/sdp');
    assert.match(String(r.headers.etag), /^"[0-9a-f]+"$/);
    assert.equal(r.headers.link, `<stun:${origin.host}:3478>; rel="ice-server"`);
    const location = String(r.headers.location);
    assert.match(location, /^\/as\/v1\/proxy\/session\/[0-9a-f]{32}$/);
    assert.match(String(r.headers['access-control-expose-headers']), /Location.*ETag.*Link/);

    const listed = await h.api('GET', '/admin/proxy/clients');
    assert.equal(listed.json.length, 1);
    assert.equal(listed.json[0].type, 'whip');
    assert.equal(listed.json[0].targetHost, origin.host);
    assert.equal(listed.json[0].streamName, 'show');

    // Trickle ICE with If-Match reaches the node's own session resource.
    const etag = String(r.headers.etag);
    const p = await send(h, 'PATCH', location, { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': etag }, CANDIDATE);
    assert.equal(p.status, 204, p.text);
    const patched = origin.whipRequests.at(-1)!;
    assert.match(patched.url, /^\/live\/whip\/resource\/[0-9a-f]+$/);
    assert.equal(patched.method, 'PATCH');
    assert.equal(patched.body, CANDIDATE);
    assert.equal(patched.headers['if-match'], etag);
    // The node's 412 for a stale ETag comes back as is.
    const stale = await send(h, 'PATCH', location, { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '"stale"' }, CANDIDATE);
    assert.equal(stale.status, 412);

    const o = await send(h, 'OPTIONS', location);
    assert.equal(o.status, 204);
    assert.equal(o.headers['accept-patch'], 'application/trickle-ice-sdpfrag');
    assert.equal(origin.whipRequests.at(-1)!.method, 'OPTIONS');

    const d = await send(h, 'DELETE', location);
    assert.equal(d.status, 200);
    assert.equal(origin.whipRequests.at(-1)!.method, 'DELETE');
    assert.equal(origin.whipOpen, 0);
    assert.equal((await send(h, 'PATCH', location, { 'content-type': 'application/trickle-ice-sdpfrag' }, CANDIDATE)).status, 404);
    assert.equal((await h.api('GET', '/admin/proxy/clients?count=true')).json.count, 0);
  });

  it('WHEP: 404 for a stream that is not live without asking any node, then a linked edge once it is', async (t) => {
    const { h, origin, edges, nodes } = await cluster(t, 204);
    const missing = await offer(h, 'whep', 'live/show');
    assert.equal(missing.status, 404);
    assert.match(JSON.parse(missing.text).errorMessage, /show/);
    assert.equal(asked(nodes), 0);

    const pub = await offer(h, 'whip', 'live/show');
    assert.equal(pub.status, 201);
    await origin.report(); // the WHIP session made the stream live on the origin

    const r = await offer(h, 'whep', 'live/show');
    assert.equal(r.status, 201, r.text);
    const edge = edges.find((e) => e.whipRequests.length > 0)!;
    assert.ok(edge, 'an edge got the offer');
    assert.equal(edge.whipRequests[0].url, '/live/whep/endpoint/show');
    assert.equal(r.text, edge.whipRequests[0].answer);
    assert.match(String(r.headers.location), /^\/as\/v1\/proxy\/session\//);
    assert.equal((await h.api('GET', '/admin/proxy/clients?count=true')).json.count, 2);
  });

  it('refuses empty, non-SDP and oversized offers and bad paths without asking any node', async (t) => {
    const { h, nodes } = await cluster(t, 208);
    const cases: Array<[string, Answer, number]> = [
      ['empty', await offer(h, 'whip', 'live/s', {}, ''), 400],
      ['not SDP', await offer(h, 'whip', 'live/s', {}, 'hello'), 400],
      ['JSON', await offer(h, 'whip', 'live/s', { 'content-type': 'application/json' }, '{"sdp":"v=0"}'), 415],
      ['no type', await send(h, 'POST', '/as/v1/proxy/whip/live/s', {}, OFFER), 415],
      ['no body', await send(h, 'POST', '/as/v1/proxy/whep/live/s', { 'content-type': 'application/sdp' }), 400],
      ['too big', await offer(h, 'whip', 'live/s', {}, OFFER + 'a=x-pad:' + 'x'.repeat(64 * 1024) + '\r\n'), 413],
      ['too big patch', await send(h, 'PATCH', '/as/v1/proxy/session/' + '0'.repeat(32), { 'content-type': 'application/trickle-ice-sdpfrag' }, 'x'.repeat(65 * 1024)), 413],
      ['no stream', await offer(h, 'whip', 'live'), 400],
      ['bad app', await offer(h, 'whip', 'li%0Ave/s'), 400],
      ['forged session', await send(h, 'PATCH', '/as/v1/proxy/session/' + '0'.repeat(32), { 'content-type': 'application/trickle-ice-sdpfrag' }, CANDIDATE), 404],
      ['bad session id', await send(h, 'DELETE', '/as/v1/proxy/session/127.0.0.208'), 400],
    ];
    assert.match(JSON.parse(cases.find((c) => c[0] === 'too big')![1].text).errorMessage, /64 KB/);
    for (const [what, r, status] of cases) {
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.equal(typeof JSON.parse(r.text).errorMessage, 'string', what);
    }
    assert.equal(asked(nodes), 0, 'no node was asked');
  });

  it('sessions end when their node is terminated, and expire after proxy.whipSessionTtl without use', async (t) => {
    const h = await startHarness(t, { config: { 'proxy.whipSessionTtl': 60_000 } });
    const { origin, nodes } = await h.cluster(212);
    for (const n of nodes) await n.report();
    const a = String((await offer(h, 'whip', 'live/a')).headers.location);
    const b = String((await offer(h, 'whip', 'live/b')).headers.location);
    await h.clock.advance(40_000);
    // Using a session restarts its time to live.
    assert.equal((await send(h, 'OPTIONS', b)).status, 204);
    await h.clock.advance(30_000);
    assert.equal((await send(h, 'OPTIONS', a)).status, 404, 'a expired');
    assert.equal((await send(h, 'OPTIONS', b)).status, 204, 'b was used');
    const requests = origin.whipRequests.length;

    const del = await h.api('DELETE', `/admin/node/${origin.host}`);
    assert.equal(del.status, 200, del.text);
    assert.equal((await send(h, 'DELETE', b)).status, 404);
    assert.equal(origin.whipRequests.length, requests, 'nothing more reached the terminated node');
  });

  it('answers the CORS preflight for the endpoints and the session URLs', async (t) => {
    const h = await startHarness(t);
    for (const path of ['/as/v1/proxy/whip/live/s', '/as/v1/proxy/session/' + 'a'.repeat(32)]) {
      const r = await send(h, 'OPTIONS', path, { origin: 'https://app.example', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'content-type, if-match, authorization' });
      assert.equal(r.status, 204, path);
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.match(String(r.headers['access-control-allow-methods']), /POST.*PATCH.*DELETE/);
      assert.equal(r.headers['access-control-allow-headers'], 'content-type, if-match, authorization');
      assert.match(String(r.headers['access-control-expose-headers']), /Location/);
    }
    // The generated OpenAPI document describes the relay routes.
    const doc = (await h.api('GET', '/streammanager/api/openapi.json')).json;
    assert.match(doc.paths['/as/v1/proxy/whip/{path}'].post.summary, /WHIP publish/);
    assert.match(doc.paths['/as/v1/proxy/session/{id}'].patch.summary, /Trickle ICE/);
  });
});
