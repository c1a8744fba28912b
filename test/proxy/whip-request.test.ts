import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answerHeaders, checkOffer, checkPatch, endpointUrl, nodeHeaders, nodeQuery, parseStreamPath, resourcePath } from '../../src/proxy/whip-request.ts';
import { WhipSessions, type WhipSession } from '../../src/proxy/whip-sessions.ts';

const meta = { address: '198.51.100.7', port: 5555, type: 'WEB' as const, secure: true, userAgent: 'Mozilla/5.0' };

describe('WHIP/WHEP request rules', () => {
  it('reads multi-segment apps and percent-encoded stream names, and refuses what could escape the path', () => {
    assert.deepEqual(parseStreamPath('live/room1/my%20stream', 'whip'), { ok: true, value: { app: 'live/room1', stream: 'my stream' } });
    assert.deepEqual(parseStreamPath('live/a%2Fb', 'whep'), { ok: true, value: { app: 'live', stream: 'a/b' } });
    for (const bad of ['live', '', '../s', 'li%0Ave/s', 'live/%0D%0A', 'live/..', 'a%ZZ/s', `live/${'x'.repeat(255)}`, 'l?ve/s']) {
      const r = parseStreamPath(bad, 'whip');
      assert.equal(r.ok, false, bad);
      assert.equal(!r.ok && r.status, 400, bad);
    }
    // The stream name is re-encoded for the node: a '/' or '?' in it stays inside the last segment.
    assert.equal(endpointUrl({ host: '10.0.0.5', port: 5080 }, 'whip', 'live', 'a/b?c', '?x=1'), 'http://10.0.0.5:5080/live/whip/endpoint/a%2Fb%3Fc?x=1');
    assert.equal(endpointUrl({ host: '::1', port: 5080 }, 'whep', 'live', 's', ''), 'http://[::1]:5080/live/whep/endpoint/s');
  });

  it('takes SDP offers only, and SDP fragments for PATCH', () => {
    assert.equal(checkOffer('application/sdp', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n'), null);
    assert.equal(checkOffer('Application/SDP; charset=utf-8', 'v=0\n'), null);
    assert.equal(checkOffer(undefined, 'v=0\n')?.status, 415);
    assert.equal(checkOffer('text/plain', 'v=0\n')?.status, 415);
    assert.equal(checkOffer('application/sdp', '')?.status, 400);
    assert.equal(checkOffer('application/sdp', 'v=1\n')?.status, 400);
    assert.equal(checkPatch('application/trickle-ice-sdpfrag', 'a=end-of-candidates\r\n'), null);
    assert.equal(checkPatch('application/json', '{}')?.status, 415);
    assert.equal(checkPatch('application/trickle-ice-sdpfrag', ' ')?.status, 400);
  });

  it('keeps the broker parameters on the manager and passes the rest on in order', () => {
    assert.equal(nodeQuery('?region=eu&b=2&strict=true&a=1&transcode=false'), '?b=2&a=1');
    assert.equal(nodeQuery('?region=eu'), '');
    assert.equal(nodeQuery(''), '');
  });

  it('forwards the body type, If-Match, a Bearer token and the X-Forwarded-For set, nothing else', () => {
    const h = nodeHeaders(
      { 'content-type': 'application/sdp', 'if-match': '"e1"', authorization: 'Bearer tok', cookie: 'a=b', host: 'sm.example', 'x-forwarded-for': '6.6.6.6' },
      meta,
    );
    assert.deepEqual(h, {
      'content-type': 'application/sdp',
      'if-match': '"e1"',
      authorization: 'Bearer tok',
      'user-agent': 'Mozilla/5.0',
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-for-meta-port': '5555',
      'x-forwarded-for-meta-type': 'WEB',
      'x-forwarded-for-meta-secure': 'true',
    });
    assert.equal(nodeHeaders({ authorization: 'Basic dTpw' }, meta).authorization, undefined, 'only Bearer tokens are the node\'s');
    assert.deepEqual(answerHeaders({ etag: '"x"', link: ['<stun:a>; rel="ice-server"', '<turn:b>; rel="ice-server"'], 'set-cookie': 'n=1', location: '/x', server: 'red5' }), {
      etag: '"x"',
      link: ['<stun:a>; rel="ice-server"', '<turn:b>; rel="ice-server"'],
    });
  });

  it('keeps only the path of a Location, so a node can never point the manager at another host', () => {
    const ep = 'http://10.0.0.5:5080/live/whip/endpoint/s';
    assert.equal(resourcePath('/live/whip/resource/abc?x=1', ep), '/live/whip/resource/abc?x=1');
    assert.equal(resourcePath('resource/abc', ep), '/live/whip/endpoint/resource/abc');
    assert.equal(resourcePath('http://169.254.169.254/latest/meta-data', ep), '/latest/meta-data');
    assert.equal(resourcePath('file:///etc/passwd', ep), undefined);
    assert.equal(resourcePath(undefined, ep), undefined);
  });
});

describe('WHIP/WHEP sessions', () => {
  const session = (id: string, at: number, clientAddress = 'c1'): WhipSession => ({
    id,
    kind: 'whip',
    targetHost: 'n1',
    targetPort: 1,
    targetApp: 'live',
    stream: id,
    resource: '/r',
    clientAddress,
    secureClient: false,
    creationTime: at,
    lastUsed: at,
    bytesIn: 0,
    bytesOut: 0,
  });

  it('expire after the TTL since their last use, count per client and go with their node', () => {
    const s = new WhipSessions(100);
    s.add(session('a', 0), 0);
    s.add(session('b', 10), 10);
    s.add({ ...session('c', 20, 'c2'), targetHost: 'n2' }, 20);
    assert.equal(s.ofClient('c1', 20), 2);
    assert.ok(s.use('a', 90));
    assert.equal(s.peek('b', 110), undefined, 'b expired');
    assert.ok(s.peek('a', 110), 'a was used at 90');
    assert.equal(s.ofClient('c1', 110), 1);
    assert.equal(s.removeHost('n2'), 1);
    assert.deepEqual(s.all(110).map((x) => x.id), ['a']);
    assert.equal(s.size(190), 0);
  });
});
