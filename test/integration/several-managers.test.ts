import { describe, it } from 'node:test';
import { postNodeMessage } from '../support/cloudwatch.ts';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, CLUSTER_PASSWORD } from '../support/harness.ts';
import { createTestDatabase } from '../support/mysql.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';

describe('several managers on one MySQL database', () => {
  it('exactly one runs the autoscaler; the other takes over within two ticks when it stops', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const clock = new ManualClock();
    // Both managers share the database and the simulated cloud's pool file.
    const dataDir = mkdtempSync(join(tmpdir(), 'sm-multi-'));
    const a = await startHarness(t, { store: 'mysql', mysql: db.opts, clock, dataDir });
    const b = await startHarness(t, { store: 'mysql', mysql: db.opts, clock, dataDir });
    const pool = await Promise.all([100, 101, 102, 103, 104].map((n) => a.node(n)));
    await a.provision(pool);
    const group = (await a.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'simulated-cloud-default-v2', name: 'shared' })).json.name;
    await a.api('POST', `/admin/nodegroup/${group}/node/origin`);
    await a.rt.ops.launchesSettled(group);
    // Nodes report to manager B: a load balancer in front of both managers may send them anywhere.
    const heartbeat = async () => {
      for (const n of pool) {
        if (!n.alive) continue;
        await postNodeMessage(b.url, n.buildReport(), { password: CLUSTER_PASSWORD });
      }
    };

    a.start();
    b.start();
    await a.tick();
    await b.tick(0);
    const leaders = () => [a, b].filter((h) => h.rt.autoscaler.status()?.leader).length;
    assert.equal(leaders(), 1, 'exactly one leader');
    const first = a.rt.autoscaler.status()!.leader ? a : b;
    const second = first === a ? b : a;

    for (let i = 0; i < 5; i++) {
      await heartbeat();
      await a.tick(2000);
    }
    assert.equal(leaders(), 1);
    // Both views know the group and its three nodes in service (B got the reports, A synced them).
    for (const h of [a, b]) assert.equal(h.rt.view.nodesOf(group).filter((n) => n.state === 'inservice').length, 3, `view of ${h === a ? 'A' : 'B'}`);
    const launchesBefore = (await a.events(group)).filter((e) => e.kind === 'launch').length;

    assert.equal(second.rt.autoscaler.status()!.runs, 0, 'the standby never acted');
    await first.stop();
    await second.tick();
    await second.tick();
    assert.equal(second.rt.autoscaler.status()?.leader, true, 'took over within two ticks');
    assert.equal((await second.events(group)).filter((e) => e.kind === 'launch').length, launchesBefore, 'no duplicate launches from the hand-over');
  });

  it('fenced lease: each gain bumps the generation; a launch under a stale generation is refused and launches nothing', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const clock = new ManualClock();
    const dataDir = mkdtempSync(join(tmpdir(), 'sm-fence-'));
    const a = await startHarness(t, { store: 'mysql', mysql: db.opts, clock, dataDir });
    const b = await startHarness(t, { store: 'mysql', mysql: db.opts, clock, dataDir });
    const spare = await a.node(110);
    await a.provision([spare]);
    const group = (await a.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'simulated-cloud-default-v2', name: 'fenced' })).json.name;
    a.start();
    await a.tick();
    assert.equal(a.rt.autoscaler.status()?.leader, true);
    assert.equal(await a.rt.store.leaseGeneration('autoscaler'), 1);
    await a.stop();
    b.start();
    await b.tick();
    assert.equal(b.rt.autoscaler.status()?.leader, true);
    assert.equal(await b.rt.store.leaseGeneration('autoscaler'), 2, 'the new leader acts under a new generation');

    // What the old leader would still try after losing the lease: refused before the cloud is asked.
    await assert.rejects(
      b.rt.ops.launch(group, 'origin', { reason: 'stale leader', fence: { lease: 'autoscaler', generation: 1 } }),
      (e: Error & { code?: string }) => e.code === 'STALE_LEASE' && /lease generation 1 is stale/.test(e.message),
    );
    assert.deepEqual(await b.rt.store.listLaunchIntents(), []);
    assert.equal(((await b.api('GET', '/admin/controller/provision/available')).json as unknown[]).length, 1, 'no host reserved');
  });
});
