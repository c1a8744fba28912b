import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness } from '../support/harness.ts';
import { createTestDatabase } from '../support/mysql.ts';
import { startStallProxy } from '../support/stall-proxy.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { openMysqlStore } from '../../src/store/mysql-store.ts';

describe('a database that stops answering one manager', () => {
  it('the leader steps down, another manager leads within two ticks; the view keeps serving and is written back', { timeout: 120_000 }, async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const proxy = await startStallProxy(db.opts);
    t.after(() => proxy.close());
    const clock = new ManualClock();
    const dataDir = mkdtempSync(join(tmpdir(), 'sm-outage-'));
    // Manager A reaches the database through the proxy; B directly. Queries time out after 2 s (real time).
    const timeouts = { 'config.dbQueryTimeout': 2000 };
    const a = await startHarness(t, { store: 'mysql', mysql: { ...db.opts, host: '127.0.0.1', port: proxy.port }, clock, dataDir, config: timeouts });
    const b = await startHarness(t, { store: 'mysql', mysql: db.opts, clock, dataDir, config: timeouts });
    const { group, nodes, origin, edges } = await a.cluster(120);
    for (const n of nodes) await n.report();
    await origin.publish('live', 'cam');
    a.start();
    await a.tick();
    b.start();
    await b.tick();
    assert.equal(a.rt.autoscaler.status()?.leader, true, 'A leads: ' + JSON.stringify(a.rt.autoscaler.status()));
    assert.equal(b.rt.autoscaler.status()?.leader, false);

    // A's pool stops answering; its idle lease connection still holds GET_LOCK (the stuck-query case).
    const sql = await db.connect();
    t.after(() => sql.end());
    const [[lock]] = (await sql.query('SELECT IS_USED_LOCK(?) AS id', [`streammanager-autoscaler-${db.opts.database}`])) as any;
    assert.ok(lock.id, 'the lease is held');
    proxy.stall([Number(lock.id)]);

    // While the store is down A answers the broker from its view and takes reports into it.
    const sub = await a.api('GET', '/streammanager/api/4.0/event/live/cam?action=subscribe');
    assert.equal(sub.status, 200, sub.text);
    edges[0].addSubscribers(7);
    const reply = await edges[0].report();
    assert.equal(reply.status, 'assigned');
    assert.equal(a.rt.view.nodes.get(edges[0].host)!.connections.subscribers, 7);
    await origin.publish('live', 'cam2');
    assert.equal(a.rt.view.nodesWithStream('live', 'cam2').length, 1);
    // Admin writes answer 503 JSON, and write nothing.
    const write = await a.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'simulated-cloud-default-v2', name: 'during-outage' });
    assert.equal(write.status, 503, write.text);
    assert.match(write.json.errorMessage, /database/);
    assert.equal(typeof write.json.timestamp, 'number');

    // Tick 1: A's tick finds the store silent (timeout or tick budget) and gives the lease up. Tick 2: B leads.
    await clock.advance(a.rt.config.autoscaler.tickInterval);
    await a.rt.autoscaler.idle();
    assert.equal(a.rt.autoscaler.status()?.leader, false, 'A stepped down');
    await b.tick();
    assert.equal(b.rt.autoscaler.status()?.leader, true, 'B took over within two ticks');
    assert.equal(a.rt.autoscaler.status()?.leader, false);

    // The store comes back: what A's view learned meanwhile is written by the next reports (at most one
    // write per node per reporting period, as always), once.
    await a.rt.protocol.flush();
    proxy.resume();
    await b.tick(a.rt.config.cluster.reportingSpeed);
    await edges[0].report();
    await origin.report();
    await a.rt.protocol.flush();
    const check = await openMysqlStore(db.opts);
    t.after(() => check.close());
    assert.equal((await check.getNode(edges[0].host))!.connections.subscribers, 7);
    const streams = (await check.listStreams()).filter((s) => s.address === origin.host).map((s) => s.name).sort();
    assert.deepEqual(streams, ['cam', 'cam2']);
    assert.deepEqual((await check.listGroups()).map((g) => g.name), [group], 'the refused write left nothing behind');
  });
});
