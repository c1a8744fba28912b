import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from '../support/harness.ts';

for (const store of ['sqlite', 'mysql'] as const) {
  describe(`restart grace (${store})`, () => {
    it('a manager stopped for 2 × nodeStateToleranceTime comes back with every node in service, nothing replaced, the pool unchanged', async (t) => {
      const h = await startHarness(t, { store });
      const c = await h.cluster(40, 3);
      h.start();
      const heartbeat = async () => {
        for (const n of c.nodes) await n.report();
      };
      for (let i = 0; i < 3; i++) {
        await heartbeat();
        await h.tick(5000);
      }
      const before = (await h.api('GET', `/admin/nodegroup/${c.group}/node`)).json as Array<{ address: string; identifier: string; state: string }>;
      assert.equal(before.length, 3);
      assert.ok(before.every((n) => n.state === 'inservice'));
      const pool = (await h.api('GET', '/admin/controller/provision')).json;
      const eventsBefore = (await h.events(c.group)).length;
      await h.stop();

      // The nodes keep running (they would report, nobody answers) while the manager is down.
      const tolerance = h.rt.config.instancecontroller.nodeStateToleranceTime;
      await h.clock.advance(2 * tolerance);
      const h2 = await startHarness(t, { store, dataDir: h.dataDir, mysql: h.mysql, clock: h.clock, port: h.port });
      h2.start();
      await h2.tick(); // the first tick runs before any node could report to the new process
      for (let at = 0; at < 2 * tolerance; at += 5000) {
        await heartbeat();
        await h2.tick(5000);
      }

      const after = (await h2.api('GET', `/admin/nodegroup/${c.group}/node`)).json as typeof before;
      assert.deepEqual(
        after.map((n) => [n.address, n.identifier, n.state]).sort(),
        before.map((n) => [n.address, n.identifier, 'inservice']).sort(),
        'same nodes, same identifiers, all in service',
      );
      const since = (await h2.events(c.group)).slice(eventsBefore);
      assert.deepEqual(since.filter((e) => ['dead', 'replace', 'terminate', 'launch'].includes(e.kind)), [], 'nothing judged dead or replaced');
      const grace = since.filter((e) => e.kind === 'grace');
      assert.equal(grace.length, 1, 'the grace is explained once');
      assert.match(grace[0].reason, /^Restart grace: 3 node\(s\)/);
      assert.deepEqual((await h2.api('GET', '/admin/controller/provision')).json, pool, 'the pool is unchanged');
    });
  });
}
