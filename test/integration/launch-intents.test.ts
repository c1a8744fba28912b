import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { startHarness } from '../support/harness.ts';

describe('durable launch intents', () => {
  it('saveNode failing after the cloud launched leaks nothing: the intent becomes the pending node (mysql)', async (t) => {
    const h = await startHarness(t, { store: 'mysql', config: { 'managed.operationTimeoutMilliseconds': 5000 } });
    const n = await h.node(81);
    await h.provision([n]);
    const policy = { name: 'one', description: '', type: '', version: '0.0.2', targets: { target: [{ role: 'origin', minLimit: 1, maxLimit: 1, scaleAdjustment: 1, coolDownPeriod: 60000 }] } };
    assert.equal((await h.api('POST', '/admin/configurations/scalepolicy', { policy })).status, 201);
    const group = (await h.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'one', name: 'leak' })).json.name;
    const launch = h.api('POST', `/admin/nodegroup/${group}/node/origin`);
    const raw = await createConnection({ ...h.mysql!, connectTimeout: 3000 });
    t.after(() => raw.end());
    // The store loses the nodes table while the cloud works: the node row cannot be written.
    // Bounded by I/O turns, not time: the cloud is waiting on the manual clock meanwhile.
    let written = 0;
    for (let i = 0; i < 500 && written === 0; i++) written = (await h.rt.store.listLaunchIntents()).length;
    assert.equal(written, 1, 'the intent is written before the cloud is asked');
    assert.equal(((await h.api('GET', '/admin/controller/provision/unavailable')).json as unknown[]).length, 1, 'and the cloud reserved the host');
    await raw.query('RENAME TABLE nodes TO nodes_away');
    await h.clock.advance(5000);
    assert.notEqual((await launch).status, 201);
    await raw.query('RENAME TABLE nodes_away TO nodes');
    const [intent] = await h.rt.store.listLaunchIntents();
    assert.equal(intent.host, n.host, 'completed with the host before the node row failed');

    h.start();
    await h.tick();
    const node = h.rt.view.nodes.get(n.host);
    assert.equal(node?.state, 'pending', 'the reconcile adopted the launch');
    assert.equal(node?.identifier, intent.identifier);
    assert.deepEqual(await h.rt.store.listLaunchIntents(), []);
    await n.report();
    await h.tick();
    assert.equal(h.rt.view.nodes.get(n.host)?.state, 'inservice');
    const ev = await h.events(group);
    assert.deepEqual(ev.filter((e) => e.kind === 'reconciled').map((e) => e.node), [n.host]);
    assert.equal(ev.filter((e) => e.kind === 'launch').length, 0, 'no second launch');
  });

  it('a host ASSIGNED to no node and no intent is released after the grace; the force route frees one, 409 for a live node (sqlite)', async (t) => {
    const h = await startHarness(t);
    const c = await h.cluster(85, 3);
    const orphan = c.edges[0];
    await h.stop();
    // A row lost by some earlier fault: the pool still has the host ASSIGNED.
    const db = new Database(join(h.dataDir, 'cluster.sqlite'));
    db.prepare('DELETE FROM nodes WHERE address = ?').run(orphan.host);
    db.close();

    const h2 = await startHarness(t, { dataDir: h.dataDir, clock: h.clock, port: h.port });
    const state = async (host: string) => ((await h2.api('GET', '/admin/controller/provision')).json as Array<{ host: string; state: string }>).find((p) => p.host === host)?.state;
    h2.start();
    const tolerance = h2.rt.config.instancecontroller.nodeStateToleranceTime;
    for (let at = 0; at < tolerance - 5000; at += 5000) {
      for (const n of c.nodes) if (n !== orphan) await n.report();
      await h2.tick(5000);
    }
    assert.equal(await state(orphan.host), 'ASSIGNED', 'not before the grace');
    for (let at = 0; at < 10_000; at += 5000) {
      for (const n of c.nodes) if (n !== orphan) await n.report();
      await h2.tick(5000);
    }
    const released = (await h2.events(c.group)).filter((e) => e.kind === 'released');
    assert.equal(released.length, 1);
    assert.equal(released[0].node, orphan.host);
    assert.match(released[0].reason, /served no node and no launch/);

    // The operator's way out: 409 while the host serves a live node.
    const live = await h2.api('DELETE', `/admin/controller/provision/${c.origin.host}?force=true`);
    assert.equal(live.status, 409);
    assert.match(live.json.errorMessage, /serves the live node/);
    assert.equal(await state(c.origin.host), 'ASSIGNED');
  });

  it('force removes an ASSIGNED host that serves no live node; without force it is still 409', async (t) => {
    const h = await startHarness(t);
    const c = await h.cluster(88, 2);
    const edge = c.edges[0];
    await h.stop();
    const db = new Database(join(h.dataDir, 'cluster.sqlite'));
    db.prepare('DELETE FROM nodes WHERE address = ?').run(edge.host);
    db.close();
    const h2 = await startHarness(t, { dataDir: h.dataDir, clock: h.clock, port: h.port });
    assert.equal((await h2.api('DELETE', `/admin/controller/provision/${edge.host}`)).status, 409);
    assert.equal((await h2.api('DELETE', `/admin/controller/provision/${edge.host}?force=yes`)).status, 400);
    const r = await h2.api('DELETE', `/admin/controller/provision/${edge.host}?force=true`);
    assert.equal(r.status, 200);
    assert.equal(r.json.host, edge.host);
    assert.equal(((await h2.api('GET', '/admin/controller/provision')).json as Array<{ host: string }>).some((p) => p.host === edge.host), false);
    assert.deepEqual((await h2.events(c.group)).filter((e) => e.kind === 'released').map((e) => e.node), [edge.host]);
  });
});
