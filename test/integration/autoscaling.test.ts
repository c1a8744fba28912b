import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from '../support/harness.ts';
import { cluster } from '../support/autoscale-cluster.ts';

const kinds = <E extends { kind: string; role: string | null }>(events: E[], kind: string, role = 'edge') => events.filter((e) => e.kind === kind && e.role === role);

describe('autoscaling with simulator nodes on a manual clock', () => {
  it('a surge launches exactly the nodes needed, once; falling load drains one node at a time without dropping viewers', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 6, 60);
    h.start();
    await c.run(5000);
    assert.equal(kinds(await h.events(c.group), 'launch').length, 1, 'only the initial edge');

    // 15 viewers on one edge of capacity 10: 150 %. Three edges bring it under 60 %: launch exactly 2.
    const [edge1] = c.role('edge');
    edge1.setStreams([{ scope: 'live', name: 's1', publishers: 0, subscribers: 15 }]);
    await edge1.report();
    await h.tick();
    let launches = kinds(await h.events(c.group), 'launch');
    assert.equal(launches.length, 3, JSON.stringify(launches));
    // The decision explains itself with the numbers behind it.
    assert.match(launches[2].reason, /60/);
    assert.equal(launches[2].data.loadPct, 150);
    assert.equal(launches[2].data.threshold, 60);
    assert.equal(launches[2].data.connections, 15);
    // The pending nodes count as capacity on its way: no second launch for the same surge.
    for (let i = 0; i < 5; i++) await h.tick();
    assert.equal(kinds(await h.events(c.group), 'launch').length, 3);
    await c.heartbeat();
    assert.equal(c.role('edge').filter((n) => h.rt.view.nodes.get(n.host)!.state === 'inservice').length, 3);

    // Load falls. After the cool-down, one edge is drained: the least loaded.
    const [, edge2, edge3] = c.role('edge');
    edge1.setStreams([{ scope: 'live', name: 's1', publishers: 0, subscribers: 1 }]);
    edge3.setStreams([{ scope: 'live', name: 's1', publishers: 0, subscribers: 1 }]);
    await c.run(65_000);
    let drains = kinds(await h.events(c.group), 'drain');
    assert.equal(drains.length, 1, 'one node at a time');
    assert.equal(drains[0].node, edge2.host, 'the least-loaded edge');
    // It reports empty: terminated, host back in the pool.
    await c.run(5000);
    assert.equal(kinds(await h.events(c.group), 'terminate').length, 1);
    assert.equal(h.rt.view.nodes.has(edge2.host), false);
    const available = (await h.api('GET', '/admin/controller/provision/available')).json.map((p: { host: string }) => p.host);
    assert.ok(available.includes(edge2.host));

    // Next cool-down: 2 viewers on 2 edges; without one the load is 20 % < 30 %. The newest of the two
    // equally loaded edges (edge3, 1 viewer) drains, but is never terminated while it has a viewer.
    await c.run(65_000);
    drains = kinds(await h.events(c.group), 'drain');
    assert.equal(drains.length, 2);
    assert.equal(drains[1].node, edge3.host);
    await c.run(30_000);
    assert.equal(h.rt.view.nodes.get(edge3.host)?.state, 'draining', 'a viewer is still there');
    assert.equal(kinds(await h.events(c.group), 'terminate').length, 1);
    edge3.setStreams([]);
    await c.run(5000);
    assert.equal(h.rt.view.nodes.has(edge3.host), false);
    launches = kinds(await h.events(c.group), 'launch');
    assert.equal(launches.length, 3, 'scale-in never triggered a launch');
  });

  it('a dead edge stops getting clients, is cleaned up and replaced', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 4, 70);
    h.start();
    await c.run(5000);
    const [edge] = c.role('edge');
    await edge.kill();
    await c.run(25_000);
    assert.equal(h.rt.view.nodes.get(edge.host)?.state, 'inservice', 'not dead before nodeStateToleranceTime');
    await c.run(10_000);
    const events = await h.events(c.group);
    const dead = events.filter((e) => e.kind === 'dead');
    assert.equal(dead.length, 1, JSON.stringify(events.map((e) => e.kind)));
    assert.equal(dead[0].node, edge.host);
    assert.equal(h.rt.view.nodes.has(edge.host), false);
    const replacement = events.filter((e) => (e.kind === 'launch' || e.kind === 'replace') && e.role === 'edge').at(-1)!;
    assert.notEqual(replacement.node, edge.host);
    assert.ok(h.rt.view.nodes.get(replacement.node!), 'replacement edge exists');
    // The dead host did not answer the ping: terminated, not recycled.
    const unavailable = (await h.api('GET', '/admin/controller/provision/unavailable')).json;
    assert.equal(unavailable.find((p: { host: string }) => p.host === edge.host)?.state, 'TERMINATED');
  });

  it('a dead edge kept as a terminated row (deleteDeadGroupNodesOnCleanUp=false) loses its links to its origin', async (t) => {
    const h = await startHarness(t, { config: { 'instancecontroller.deleteDeadGroupNodesOnCleanUp': false } });
    const c = await cluster(h, 4, 230);
    h.start();
    await c.run(5000);
    const [edge] = c.role('edge');
    assert.equal(h.rt.view.parentsOf(edge.host).length, 1, 'linked to its origin while alive');
    await edge.kill();
    await c.run(40_000);
    assert.equal(h.rt.view.nodes.get(edge.host)?.state, 'terminated');
    // A link left behind would make the broker count the dead edge as a way to the stream.
    assert.deepEqual(h.rt.view.parentsOf(edge.host), []);
    assert.deepEqual((await h.rt.store.listRelations(c.group)).filter((r) => r.child === edge.host), []);
  });

  it('an empty pool produces a refused event with the numbers, and the loop keeps going', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 2, 80);
    h.start();
    await c.run(2000);
    const [edge] = c.role('edge');
    edge.setStreams([{ scope: 'live', name: 's1', publishers: 0, subscribers: 12 }]);
    await c.run(5000);
    const refused = (await h.events(c.group)).filter((e) => e.kind === 'refused');
    assert.ok(refused.every((e) => !/maxLimit/.test(e.reason)), 'one edge more is within maxLimit');
    assert.ok(refused.length >= 1, 'a refusal is recorded');
    assert.match(refused[0].reason, /pool|host|provision/i);
    assert.ok(JSON.stringify(refused[0].data).match(/missing|available/), JSON.stringify(refused[0].data));
    const before = h.rt.autoscaler.status()!.lastSuccessAt!;
    await c.run(10_000);
    assert.ok(h.rt.autoscaler.status()!.lastSuccessAt! > before, 'the loop still succeeds');
    assert.ok((await h.events(c.group)).filter((e) => e.kind === 'refused').length <= refused.length + 1, 'no event storm');
  });

  it('group delete terminates every node and returns every host to the pool', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 3, 90);
    const del = await h.api('DELETE', `/admin/nodegroup/${c.group}`);
    assert.equal(del.status, 200);
    assert.equal(del.json.name, c.group);
    for (let i = 0; i < 50 && h.rt.view.groups.has(c.group); i++) await h.tick(100);
    assert.equal(h.rt.view.groups.has(c.group), false);
    assert.equal((await h.api('GET', `/admin/nodegroup/${c.group}`)).status, 404);
    assert.equal((await h.api('GET', '/admin/controller/provision/available')).json.length, 3);
  });
});

describe('origin failure and live settings', () => {
  it('a dead origin is replaced and its edges re-link to the new one', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 5, 120);
    h.start();
    await c.run(2000);
    await c.heartbeat(); // links established
    const [deadOrigin] = c.role('origin');
    const edges = c.role('edge');
    assert.deepEqual(h.rt.view.parentsOf(edges[0].host).map((r) => [r.parent, r.state]), [[deadOrigin.host, 'established']]);
    await deadOrigin.kill();
    await c.run(40_000);
    const events = await h.events(c.group);
    assert.ok(events.some((e) => e.kind === 'dead' && e.node === deadOrigin.host), JSON.stringify(events.map((e) => [e.kind, e.role])));
    const replacement = events.filter((e) => (e.kind === 'replace' || e.kind === 'launch') && e.role === 'origin').at(-1)!;
    assert.notEqual(replacement.node, deadOrigin.host);
    await c.run(2000);
    await c.heartbeat();
    const reply = await edges[0].report();
    const newOrigin = h.rt.view.nodes.get(replacement.node!)!;
    assert.deepEqual(reply.parents, [`${newOrigin.address}:${newOrigin.port}`]);
    assert.deepEqual(h.rt.view.parentsOf(edges[0].host).map((r) => [r.parent, r.state]), [[newOrigin.address, 'established']]);
  });

  it('a threshold change applies on the next tick, without a restart', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 4, 130);
    assert.equal((await h.api('POST', '/admin/alarm/scaleout/default?type=edge&threshold=80')).status, 200);
    h.start();
    const [edge] = c.role('edge');
    edge.setStreams([{ scope: 'live', name: 's1', publishers: 0, subscribers: 7 }]); // 70 %
    await c.run(3000);
    assert.equal(kinds(await h.events(c.group), 'launch').length, 1, '70 % is under 80 %: only the initial edge');
    assert.equal((await h.api('POST', '/admin/alarm/scaleout/default?type=edge&threshold=60')).status, 200);
    await h.tick();
    const launches = kinds(await h.events(c.group), 'launch');
    assert.equal(launches.length, 2);
    assert.equal(launches[1].data.threshold, 60);
  });

  it('exposes every metric family with values from the scenario', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 4, 140);
    h.start();
    const [edge] = c.role('edge');
    const [origin] = c.role('origin');
    await origin.publish('live', 'm1');
    edge.setStreams([{ scope: 'live', name: 'm1', publishers: 0, subscribers: 9 }]);
    await c.run(3000);
    await h.api('GET', '/streammanager/api/4.0/event/live/m1?action=subscribe');
    const text = await fetch(`${h.url}/metrics`).then((r) => r.text());
    const families = [
      'http_requests_total',
      'broker_decisions_total',
      'nodes',
      'nodes_unresponsive',
      'group_load_percent',
      'scale_events_total',
      'autoscaler_tick_duration_seconds',
      'autoscaler_leader',
      'autoscaler_last_success_timestamp_seconds',
      'proxy_sessions',
      'proxy_bytes_total',
      'node_report_lag_seconds',
    ];
    for (const f of families) assert.match(text, new RegExp(`^# TYPE ${f} `, 'm'), f);
    assert.match(text, /^autoscaler_leader 1$/m);
    // 9 reported subscribers + the one the broker just handed out, on a capacity of 10.
    assert.match(text, new RegExp(`^group_load_percent\\{group="${c.group}",role="edge"\\} 100$`, 'm'));
    assert.match(text, /^scale_events_total\{kind="launch"\} [1-9]/m);
    assert.match(text, /^autoscaler_tick_duration_seconds_count [1-9]/m);
    const ready = await h.api('GET', '/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.leader, true);
    assert.equal(ready.json.autoscaler, undefined);
    const status = await h.api('GET', '/admin/debug/status');
    assert.equal(status.status, 200);
    assert.equal(status.json.autoscaler.lastError, null);
    assert.equal((await fetch(`${h.url}/streammanager/api/4.0/admin/debug/status`)).status, 401);
  });
});
