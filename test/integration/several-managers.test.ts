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
});
