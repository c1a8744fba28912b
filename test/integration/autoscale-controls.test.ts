import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from '../support/harness.ts';
import { cluster, type Cluster } from '../support/autoscale-cluster.ts';

const edgeCount = (c: Cluster) => c.role('edge').filter((n) => c.h.rt.view.nodes.get(n.host)?.state !== 'draining').length;
const launches = async (c: Cluster) => (await c.h.events(c.group)).filter((e) => (e.kind === 'launch' || e.kind === 'replace') && e.role === 'edge');

/** One edge (capacity 10) carrying `viewers`. */
async function load(c: Cluster, viewers: number) {
  const [edge] = c.role('edge');
  edge.setStreams([{ scope: 'live', name: 's1', publishers: 0, subscribers: viewers }]);
  await edge.report();
}

describe('what-if: the planners on the live view, acting on nothing', () => {
  it('a lower threshold answers the launch the autoscaler would make, a higher one none; nothing is launched or recorded', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 4, 150);
    h.start();
    await c.run(5000);
    await load(c, 5); // 50 % of one edge: under the default 60 %
    await h.tick();
    const before = (await h.events(c.group)).length;
    const nodes = h.rt.view.nodes.size;

    const lower = await h.api('POST', `/admin/nodegroup/${c.group}/whatif`, { alarms: { edge: 40 } });
    assert.equal(lower.status, 200, lower.text);
    assert.equal(lower.json.group, c.group);
    assert.equal(lower.json.at, h.clock.now());
    const launch = lower.json.decisions.find((d: { kind: string; role: string }) => d.kind === 'launch' && d.role === 'edge');
    assert.ok(launch, JSON.stringify(lower.json));
    assert.equal(launch.rule, 'scale-out');
    assert.equal(launch.count, 1, '5 viewers on 20 → 25 % ≤ 40 %');
    assert.equal(launch.region, 'us-test1');
    assert.equal(launch.data.threshold, 40);
    assert.equal(launch.data.loadPct, 50);
    assert.match(launch.reason, /40/);

    const higher = await h.api('POST', `/admin/nodegroup/${c.group}/whatif`, { alarms: { edge: 90 } });
    assert.equal(higher.status, 200);
    assert.deepEqual(higher.json.decisions.filter((d: { kind: string }) => d.kind === 'launch'), []);

    // "What if the edges were at 80 %": the default threshold then asks for a launch.
    const loads = await h.api('POST', `/admin/nodegroup/${c.group}/whatif`, { loads: { edge: 80 } });
    assert.equal(loads.json.decisions.find((d: { kind: string }) => d.kind === 'launch')?.data.loadPct, 80);

    // A candidate policy that allows no more edges: the planners say so instead of launching.
    const capped = await h.api('POST', `/admin/nodegroup/${c.group}/whatif`, {
      alarms: { edge: 40 },
      scalePolicy: { policy: { name: 'x', version: '0.0.2', targets: { target: [{ role: 'origin', minLimit: 1, maxLimit: 1 }, { role: 'edge', minLimit: 1, maxLimit: 1 }] } } },
    });
    assert.equal(capped.status, 200, capped.text);
    assert.equal(capped.json.decisions.filter((d: { kind: string }) => d.kind === 'launch').length, 0, JSON.stringify(capped.json));

    await h.tick();
    assert.equal((await h.events(c.group)).length, before, 'no event written');
    assert.equal(h.rt.view.nodes.size, nodes, 'nothing launched');
  });

  it('bad values get a 400 naming the field; an unknown group 404', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 2, 160);
    const bad = async (body: unknown, field: RegExp) => {
      const r = await h.api('POST', `/admin/nodegroup/${c.group}/whatif`, body);
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.errorMessage, field);
      assert.equal(typeof r.json.timestamp, 'number');
    };
    await bad({ alarms: { edge: 0 } }, /alarms\.edge: must be 1–100/);
    await bad({ alarms: { edge: 101 } }, /alarms\.edge/);
    await bad({ alarms: { stage: 50 } }, /alarms/);
    await bad({ loads: { origin: -1 } }, /loads\.origin/);
    await bad({ scalePolicy: 'no-such-policy' }, /scalePolicy: no scale policy named no-such-policy/);
    await bad({ scalePolicy: { policy: { targets: { target: [{ role: 'edge', minLimit: 5, maxLimit: 2 }] } } } }, /scalePolicy/);
    await bad({ surprise: 1 }, /surprise/);
    const missing = await h.api('POST', '/admin/nodegroup/nope/whatif', {});
    assert.equal(missing.status, 404);
  });
});

describe('pause', () => {
  it('a paused group under 90 % load launches nothing, says why once, and launches once resumed; the pause survives a restart', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 4, 170);
    h.start();
    await c.run(5000);
    assert.equal((await launches(c)).length, 1, 'the initial edge');

    const put = await h.api('PUT', `/admin/nodegroup/${c.group}/autoscale`, { paused: true });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.json, { group: c.group, paused: true, replaceDead: true });
    assert.equal((await h.api('GET', `/admin/nodegroup/${c.group}`)).json.paused, true);
    assert.match((await h.api('GET', '/metrics')).text, new RegExp(`group_autoscale_paused\\{group="${c.group}"\\} 1`));

    await load(c, 9);
    await c.run(20_000);
    assert.equal((await launches(c)).length, 1, 'held while paused');
    assert.equal(edgeCount(c), 1);
    const paused = (await h.events(c.group)).filter((e) => e.kind === 'paused');
    assert.equal(paused.length, 1, 'explained once per pause, not every tick');
    assert.match(paused[0].reason, /launch 1 edge \(scale-out\)/);

    assert.deepEqual((await h.api('PUT', `/admin/nodegroup/${c.group}/autoscale`, { paused: false })).json, { group: c.group, paused: false, replaceDead: true });
    await c.run(5000);
    assert.equal((await launches(c)).length, 2, 'the surge is answered once resumed');
    assert.equal((await h.api('GET', `/admin/nodegroup/${c.group}`)).json.paused, undefined, 'the classic shape again');

    // Kept in the store: a restarted manager on the same data reads the pause.
    await h.api('PUT', `/admin/nodegroup/${c.group}/autoscale`, { paused: true, replaceDead: false });
    await h.stop();
    const again = await startHarness(t, { dataDir: h.dataDir, clock: h.clock });
    assert.deepEqual((await again.api('GET', `/admin/nodegroup/${c.group}/autoscale`)).json, { group: c.group, paused: true, replaceDead: false });
  });

  it('rejects a body without a boolean `paused`, and an unknown group', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 2, 180);
    const r = await h.api('PUT', `/admin/nodegroup/${c.group}/autoscale`, { paused: 'yes' });
    assert.equal(r.status, 400);
    assert.match(r.json.errorMessage, /paused: must be true or false/);
    assert.equal((await h.api('PUT', `/admin/nodegroup/${c.group}/autoscale`, {})).status, 400);
    assert.equal((await h.api('PUT', '/admin/nodegroup/nope/autoscale', { paused: true })).status, 404);
    assert.equal((await h.api('GET', `/admin/nodegroup/${c.group}/autoscale`)).json.paused, false, 'nothing stored');
  });
});

describe('schedules', () => {
  it('a window raises the edge count at its start and lets it fall back at its end, with an event at each', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 5, 190);
    h.start();
    await c.run(5000);
    const start = h.clock.now() + 10_000;
    const created = await h.api('POST', `/admin/nodegroup/${c.group}/schedule`, { role: 'edge', minLimit: 3, start, end: start + 60_000, label: 'event night' });
    assert.equal(created.status, 201, created.text);
    assert.match(created.json.id, /^[0-9a-f]{8}$/);
    assert.deepEqual((await h.api('GET', `/admin/nodegroup/${c.group}/schedule`)).json, [created.json]);

    await c.run(5000);
    assert.equal(edgeCount(c), 1, 'not before the window');
    await c.run(10_000);
    assert.equal(edgeCount(c), 3, 'raised at the start');
    let sched = (await h.events(c.group)).filter((e) => e.kind === 'schedule');
    assert.equal(sched.length, 1);
    assert.match(sched[0].reason, /event night started: edge minLimit 3/);
    await c.run(40_000);
    assert.equal(edgeCount(c), 3, 'held through the window');
    assert.equal((await h.events(c.group)).filter((e) => e.kind === 'drain').length, 0);

    await c.run(15_000); // past the end
    sched = (await h.events(c.group)).filter((e) => e.kind === 'schedule');
    assert.equal(sched.length, 2);
    assert.match(sched[1].reason, /event night ended/);
    await c.run(70_000);
    assert.ok((await h.events(c.group)).some((e) => e.kind === 'drain' && e.role === 'edge'), 'falls back once the window closed');
  });

  it('validates, updates and deletes schedules; a recurring one takes cron + duration', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 2, 200);
    const path = `/admin/nodegroup/${c.group}/schedule`;
    const bad = async (body: unknown, msg: RegExp) => {
      const r = await h.api('POST', path, body);
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.errorMessage, msg);
    };
    await bad({ role: 'edge', cron: '0 18 * * 5' }, /durationMs: is required with cron/);
    await bad({ role: 'edge', minLimit: 2, cron: '61 18 * * 5', durationMinutes: 60 }, /cron: is not valid/);
    await bad({ role: 'edge', minLimit: 2, cron: '0 18 * * 5', durationMinutes: 60, timezone: 'Mars/Olympus' }, /timezone: is not valid/);
    await bad({ role: 'edge', cron: '0 18 * * 5', durationMinutes: 60 }, /minLimit: a schedule sets minLimit, maxLimit or both/);
    await bad({ role: 'edge', minLimit: 5, maxLimit: 2, start: 1, end: 2 }, /minLimit: must not exceed maxLimit/);
    await bad({ role: 'edge', minLimit: 2, start: 10, end: 5 }, /end: must be after start/);
    await bad({ role: 'viewer', minLimit: 2, start: 1, end: 2 }, /role: must be one of/);
    assert.deepEqual((await h.api('GET', path)).json, [], 'nothing stored');

    const friday = await h.api('POST', path, { role: 'edge', minLimit: 10, cron: '0 18 * * 5', durationMinutes: 300 });
    assert.equal(friday.status, 201, friday.text);
    assert.equal(friday.json.durationMs, 300 * 60_000);
    const upd = await h.api('PUT', `${path}/${friday.json.id}`, { role: 'edge', minLimit: 8, cron: '0 18 * * 5', durationMs: 3_600_000 });
    assert.equal(upd.status, 200, upd.text);
    assert.equal((await h.api('GET', `${path}/${friday.json.id}`)).json.minLimit, 8);
    assert.equal((await h.api('PUT', `${path}/nope`, { role: 'edge', minLimit: 1, start: 1, end: 2 })).status, 404);
    assert.equal((await h.api('DELETE', `${path}/${friday.json.id}`)).json.id, friday.json.id);
    assert.equal((await h.api('GET', `${path}/${friday.json.id}`)).status, 404);
    assert.equal((await h.api('GET', '/admin/nodegroup/nope/schedule')).status, 404);
  });
});

describe('replay', () => {
  it('a replay of a recorded surge makes the decisions the live autoscaler made', async (t) => {
    const h = await startHarness(t);
    const c = await cluster(h, 6, 210);
    h.start();
    await c.run(5000);
    const t0 = h.clock.now();
    await c.run(10_000);
    const t1 = h.clock.now();
    await load(c, 15); // 150 % of one edge: the live autoscaler launches 2
    await h.tick();
    await c.run(20_000);
    const live = (await h.events(c.group)).filter((e) => e.data.rule === 'scale-out');
    assert.equal(live.length, 2, JSON.stringify(live));

    const r = await h.api('POST', `/admin/nodegroup/${c.group}/whatif/replay`, {
      curve: [
        { at: t0, role: 'edge', connections: 0 },
        { at: t1, role: 'edge', connections: 15 },
      ],
      initial: { origin: 1, edge: 1 },
      until: t1 + 20_000,
    });
    assert.equal(r.status, 200, r.text);
    const launches = r.json.decisions.filter((d: { kind: string }) => d.kind === 'launch');
    assert.equal(launches.length, 1, JSON.stringify(r.json.decisions));
    assert.equal(launches[0].rule, 'scale-out');
    assert.equal(launches[0].count, live.length);
    assert.equal(launches[0].at, t1);
    assert.equal(launches[0].reason, live[0].reason, 'the same rule with the same numbers');
    assert.deepEqual(r.json.peak.edge, { at: t1, connections: 15, capacity: 10, loadPct: 150 });
    const end = r.json.series.at(-1);
    assert.equal(end.nodes.edge.inservice, 3);
    assert.equal(end.loadPct.edge, 50);
    // A candidate policy with one edge at most: the same surge launches nothing.
    const capped = await h.api('POST', `/admin/nodegroup/${c.group}/whatif/replay`, {
      curve: [{ at: t1, role: 'edge', connections: 15 }],
      initial: { origin: 1, edge: 1 },
      scalePolicy: { policy: { name: 'x', version: '0.0.2', targets: { target: [{ role: 'origin', minLimit: 1, maxLimit: 1 }, { role: 'edge', minLimit: 1, maxLimit: 1 }] } } },
    });
    assert.equal(capped.json.decisions.filter((d: { kind: string }) => d.kind === 'launch').length, 0);
    assert.equal(h.rt.view.nodes.size >= 4, true);
    assert.equal((await h.api('POST', `/admin/nodegroup/${c.group}/whatif/replay`, { curve: [] })).status, 400);
    const long = await h.api('POST', `/admin/nodegroup/${c.group}/whatif/replay`, { curve: [{ at: 0, role: 'edge', connections: 1 }], until: 1e12 });
    assert.equal(long.status, 400);
    assert.match(long.json.errorMessage, /ticks/);
  });
});
