import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createWhipProxy, type WhipConfig } from '../../src/proxy/whip-relay.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { simNode, resolverOf } from './helpers.ts';

const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
const CONFIG: WhipConfig = { enabled: true, whipSessionTtl: 0, handshakeTimeout: 5000, maxSessions: 100 };

const meta = (address: string) => ({ address, port: 4000, type: 'DIRECT' as const, secure: false });

describe('WHIP/WHEP relay', () => {
  it('caps sessions per client (429) and in all (503) before the broker or a node is asked', async (t) => {
    const node = await simNode(t, '127.0.0.220');
    const whip = createWhipProxy({ config: { ...CONFIG, maxSessions: 3, maxSessionsPerClient: 2 }, log: createLogger('silent'), clock: new ManualClock(), resolveTarget: resolverOf([node]) });
    t.after(() => whip.shutdown());
    let chosen = 0;
    const offer = (client: string) =>
      whip.offer({ kind: 'whip', app: 'live', stream: 's', query: '', headers: { 'content-type': 'application/sdp' }, meta: meta(client), body: OFFER, choose: () => (chosen++, node.host) });

    assert.equal((await offer('10.0.0.1')).status, 201);
    assert.equal((await offer('10.0.0.1')).status, 201);
    await assert.rejects(offer('10.0.0.1'), (e: { statusCode?: number }) => e.statusCode === 429);
    assert.equal((await offer('10.0.0.2')).status, 201);
    await assert.rejects(offer('10.0.0.3'), (e: { statusCode?: number }) => e.statusCode === 503);
    assert.equal(chosen, 3, 'refused offers never reached the broker');
    assert.equal(node.whipRequests.length, 3);

    // Ending a session frees its place.
    const [first] = whip.list();
    assert.ok(whip.close(first.id));
    assert.equal(whip.stats().sessions, 2);
    assert.equal((await offer('10.0.0.3')).status, 201);
  });

  it('answers 502 when the chosen node does not answer, and keeps no session', async (t) => {
    const node = await simNode(t, '127.0.0.221');
    const whip = createWhipProxy({ config: CONFIG, log: createLogger('silent'), clock: new ManualClock(), resolveTarget: resolverOf([node]) });
    t.after(() => whip.shutdown());
    await node.kill();
    await assert.rejects(
      whip.offer({ kind: 'whep', app: 'live', stream: 's', query: '', headers: { 'content-type': 'application/sdp' }, meta: meta('10.0.0.1'), body: OFFER, choose: () => node.host }),
      (e: { statusCode?: number }) => e.statusCode === 502,
    );
    assert.equal(whip.stats().sessions, 0);
  });
});
