import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, CLUSTER_PASSWORD, type Harness } from '../support/harness.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { MAX_REPORT_STREAMS } from '../../src/cluster/node-protocol.ts';
import type { SimNode } from '../../src/sim/node-sim.ts';
import { postNodeMessage } from '../support/cloudwatch.ts';

async function post(h: Harness, body: unknown) {
  const res = await postNodeMessage(h.url, body, { password: CLUSTER_PASSWORD });
  return { status: res.status, json: (await res.json()) as any };
}

const good = { scope: '/live', name: 'show', publishers: 1, subscribers: 0 };
const longName = { scope: 'live', name: 'x'.repeat(255), publishers: 1, subscribers: 0 };
const twice = { scope: '/live/', name: 'show', publishers: 0, subscribers: 4 };

/** The origin's report with one stream over the name limit and the good stream listed a second time. */
const badReport = (origin: SimNode) => ({ ...origin.buildReport(), streams: [good, longName, twice] });

for (const store of ['sqlite', 'mysql'] as const) {
  describe(`partial acceptance of reports (${store})`, () => {
    it('a node whose reports carry a bad stream stays in service and its good stream is brokered', async (t) => {
      const lines: string[] = [];
      const h = await startHarness(t, { store, log: createLogger('warn', { write: (l: string) => void lines.push(l) }) });
      const { nodes, origin, edges } = await h.cluster(40 + (store === 'mysql' ? 10 : 0));
      h.start();
      const first = await post(h, badReport(origin));
      assert.equal(first.status, 200, JSON.stringify(first.json));
      assert.equal(first.json.status, 'assigned');
      assert.deepEqual(first.json.rejected.map((r: { index: number }) => r.index), [1, 2]);
      assert.match(first.json.rejected[0].reason, /name: .*254/);
      assert.match(first.json.rejected[1].reason, /live\/show is listed twice \(first at index 0\)/);
      assert.equal(first.json.rejectedLinks, undefined);

      // Well past nodeStateToleranceTime (30 s): every report carries the bad items, the node is heard.
      for (let i = 0; i < 5; i++) {
        await h.tick(10_000);
        for (const n of nodes) if (n !== origin) await n.report();
        assert.equal((await post(h, badReport(origin))).status, 200);
      }
      await h.tick(0);
      assert.equal(h.rt.view.nodes.get(origin.host)?.state, 'inservice');
      assert.ok(!(await h.events(h.rt.view.nodes.get(origin.host)!.group)).some((e) => e.kind === 'dead'));

      const pub = await h.api('GET', '/streammanager/api/4.0/event/live/show?action=broadcast');
      assert.equal(pub.json.serverAddress, origin.host, pub.text);
      const sub = await h.api('GET', '/streammanager/api/4.0/event/live/show?action=subscribe');
      assert.equal(sub.status, 200, sub.text);
      assert.ok(edges.some((e) => e.host === sub.json.serverAddress), sub.text);

      // The store holds the good stream once (the first entry's counts), not the refused ones.
      await h.rt.protocol.flush();
      const stored = (await h.rt.store.listStreams()).filter((s) => s.address === origin.host);
      assert.deepEqual(stored.map((s) => [s.scope, s.name, s.subscribers]), [['live', 'show', 0]]);

      // Six reports over 50 s at a 10 s period: at most one warning per period, not one per report.
      const warned = lines.filter((l) => l.includes('report items refused'));
      assert.ok(warned.length >= 1 && warned.length <= 6, `warnings: ${warned.length}`);
      for (let i = 0; i < 3; i++) await post(h, badReport(origin));
      assert.equal(lines.filter((l) => l.includes('report items refused')).length, warned.length, 'reports within one period warn once');
    });
  });
}

describe('partial acceptance: limits and envelope', () => {
  it('applies the first 10,000 streams and refuses the rest by index; bad links are named in rejectedLinks', async (t) => {
    const h = await startHarness(t);
    const { origin } = await h.cluster(60);
    const streams = Array.from({ length: MAX_REPORT_STREAMS + 2 }, (_, i) => ({ scope: 'live', name: `s${i}`, publishers: 1, subscribers: 0 }));
    const res = await post(h, { ...origin.buildReport(), streams, links: [{ parent: '127.0.0.61:5080', state: 'sideways' }] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.rejected.map((r: { index: number }) => r.index), [MAX_REPORT_STREAMS, MAX_REPORT_STREAMS + 1]);
    assert.match(res.json.rejected[0].reason, /limit of 10000 streams/);
    assert.deepEqual(res.json.rejectedLinks.map((r: { index: number }) => r.index), [0]);
    assert.match(res.json.rejectedLinks[0].reason, /state/);
    assert.equal(h.rt.view.streamsOf(origin.host).length, MAX_REPORT_STREAMS);
    assert.equal(h.rt.view.nodesWithStream('live', `s${MAX_REPORT_STREAMS}`).length, 0);
  });

  it('a bad envelope still refuses the whole report and leaves the node as it was', async (t) => {
    const h = await startHarness(t);
    const { origin } = await h.cluster(63);
    const before = structuredClone(h.rt.view.nodes.get(origin.host));
    await h.clock.advance(1000);
    for (const bad of [{ connections: { publishers: -1, subscribers: 0 } }, { streams: 'all of them' }, { links: {} }]) {
      const res = await post(h, { ...origin.buildReport(), ...bad });
      assert.equal(res.status, 400, JSON.stringify(res.json));
    }
    const notObject = await post(h, [origin.buildReport()]);
    assert.equal(notObject.status, 400);
    assert.deepEqual(h.rt.view.nodes.get(origin.host), before);
  });
});
