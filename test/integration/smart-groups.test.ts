import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/harness.ts';

/**
 * G2 smart create and G5 resize against a whole manager (SQLite, simulated cloud, simulator nodes).
 * The sample launch config has 500-connection origins and edges; the default edge threshold is 60%, so an
 * edge is planned for 300 subscribers.
 */

const LC = 'simulated-cloud-default-v2';
const TWO_REGIONS = { 'managed.regionNames': 'us-test1,eu-test2', 'managed.availabilityZoneNames': 'us-test1-a,eu-test2-a' };

const info = (minPublishers: unknown, maxPublishers: unknown, minSubscribers: unknown, maxSubscribers: unknown) => ({ minPublishers, maxPublishers, minSubscribers, maxSubscribers });
const smart = (scalePolicy: string, region: unknown[], extra: Record<string, unknown> = {}) => ({ launchConfig: LC, scalePolicy, region, ...extra });

async function policy(h: Harness, name: string) {
  const r = await h.api('GET', `/admin/configurations/scalepolicy/${name}`);
  return r.status === 200 ? r.json.policy : null;
}

/** {region: {role: [min, max]}} of a 0.0.3 policy. */
function limits(p: any): Record<string, Record<string, [number, number]>> {
  return Object.fromEntries(
    (p.targets.region as any[]).map((r) => [r.name, Object.fromEntries((r.target as any[]).map((t) => [t.role, [t.minLimit, t.maxLimit]]))]),
  );
}

/** Nothing of a refused request may be left behind. */
async function assertNothingWritten(h: Harness, policyName: string, policiesBefore: string[], groupsBefore: unknown[]) {
  assert.equal(await policy(h, policyName), null, `policy ${policyName} must not exist`);
  assert.deepEqual((await h.api('GET', '/admin/configurations/scalepolicy')).json, policiesBefore);
  assert.deepEqual((await h.api('GET', '/admin/nodegroup')).json, groupsBefore);
}

const edgesOf = (h: Harness, group: string) => h.rt.view.nodesOf(group, 'edge').filter((n) => n.state === 'pending' || n.state === 'inservice');

describe('smart node groups (G2 create, G5 resize)', () => {
  it('smart create writes a 0.0.3 policy sized by the formula and a group on it', async (t) => {
    const h = await startHarness(t, { config: TWO_REGIONS });
    const created = await h.api(
      'POST',
      '/admin/nodegroup',
      smart(
        'smart1',
        [
          { name: 'us-test1', info: info('500', '500', '20000', '60000') },
          { name: 'eu-test2', info: info(1, 1200.0, 0, '301') },
        ],
        { name: 'sg1' },
      ),
    );
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.name, 'sg1');
    assert.deepEqual(created.json.regions, ['us-test1', 'eu-test2']);
    assert.equal(created.json.launchConfig, LC);
    assert.equal(created.json.scalePolicy, 'smart1');
    assert.equal(created.json.state, 'new');
    assert.deepEqual((await h.api('GET', '/admin/nodegroup/sg1')).json, created.json);

    const p = await policy(h, 'smart1');
    assert.equal(p.version, '0.0.3');
    // us-test1: 500/500 → 1..1 origin; 20000/300 → 67, 60000/300 → 200 edges.
    // eu-test2: max(1, 1/500) → 1, 1200/500 → 3 origins; 0 subscribers min but 301 max → 1..2 edges.
    // default copies the first region.
    assert.deepEqual(limits(p), {
      default: { origin: [1, 1], edge: [67, 200] },
      'us-test1': { origin: [1, 1], edge: [67, 200] },
      'eu-test2': { origin: [1, 3], edge: [1, 2] },
    });
    for (const r of p.targets.region) for (const tg of r.target) assert.deepEqual([tg.coolDownPeriod, tg.estimatedWarmUpTime, tg.scaleAdjustment], [180000, 120000, 1]);
    // Nothing but origins and edges runs in a smart group.
    assert.ok(p.targets.region.every((r: any) => r.target.every((tg: any) => tg.role === 'origin' || tg.role === 'edge')));

    // The edge threshold is part of the formula: at 100% an edge is planned for its full 500.
    assert.equal((await h.api('POST', '/admin/alarm/scaleout/default?type=edge&threshold=100')).status, 200);
    const full = await h.api('POST', '/admin/nodegroup', smart('smart2', [{ name: 'us-test1', info: info(1, 1, 20000, 60000) }]));
    assert.equal(full.status, 201, full.text);
    assert.match(full.json.name, /^group-[0-9a-f-]{36}$/);
    assert.deepEqual(limits(await policy(h, 'smart2'))['us-test1'], { origin: [1, 1], edge: [40, 120] });

    // The unquoted body deployment scripts send is read too.
    const lenient = await h.api('POST', '/admin/nodegroup', `{launchConfig:${LC},scalePolicy:smart3,name:sg3,region:[{name:eu-test2,info:{minPublishers:1,maxPublishers:1,minSubscribers:0,maxSubscribers:0}}]}`);
    assert.equal(lenient.status, 201, lenient.text);
    assert.deepEqual(limits(await policy(h, 'smart3')), { default: { origin: [1, 1], edge: [0, 0] }, 'eu-test2': { origin: [1, 1], edge: [0, 0] } });
  });

  it('a bad field is a 400 naming it, and nothing is written', async (t) => {
    const h = await startHarness(t);
    const policies = (await h.api('GET', '/admin/configurations/scalepolicy')).json;
    const bad = await h.api('POST', '/admin/nodegroup', smart('smart-bad', [{ name: 'us-test1', info: info(1, 1, 200, 100) }]));
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.errorMessage, /region\[0\]\.info\.maxSubscribers: must be ≥ minSubscribers/);
    const notNumber = await h.api('POST', '/admin/nodegroup', smart('smart-bad', [{ name: 'us-test1', info: { ...info(1, 1, 0, 1), maxPublishers: 'lots' } }]));
    assert.equal(notNumber.status, 400);
    assert.match(notNumber.json.errorMessage, /region\[0\]\.info\.maxPublishers: must be an integer/);
    // A launch config without an edge target cannot carry a smart (origin+edge) group.
    const originOnly = {
      launchconfig: { name: 'origin-only', version: '0.0.2', targets: { target: [{ role: 'origin', instanceType: 'standard', connectionCapacity: 100 }] } },
    };
    assert.equal((await h.api('POST', '/admin/configurations/launchconfig', originOnly)).status, 201);
    const noEdge = await h.api('POST', '/admin/nodegroup', { ...smart('smart-bad', [{ name: 'us-test1', info: info(1, 1, 0, 1) }]), launchConfig: 'origin-only' });
    assert.equal(noEdge.status, 400, noEdge.text);
    assert.match(noEdge.json.errorMessage, /launchConfig: .*no edge target/);
    await assertNothingWritten(h, 'smart-bad', policies, []);
  });

  it('an existing scale policy name is a 409 and nothing is written; so is an existing group name', async (t) => {
    const h = await startHarness(t);
    const before = await policy(h, LC);
    const policies = (await h.api('GET', '/admin/configurations/scalepolicy')).json;
    const dup = await h.api('POST', '/admin/nodegroup', smart(LC, [{ name: 'us-test1', info: info(1, 1, 300, 600) }], { name: 'sg-dup' }));
    assert.equal(dup.status, 409, dup.text);
    assert.match(dup.json.errorMessage, /scalePolicy: a scale policy named simulated-cloud-default-v2 already exists/);
    assert.deepEqual(await policy(h, LC), before, 'the existing policy is untouched');
    assert.deepEqual((await h.api('GET', '/admin/nodegroup')).json, []);

    const taken = await h.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: LC, scalePolicy: LC, name: 'taken' });
    assert.equal(taken.status, 201);
    const groups = (await h.api('GET', '/admin/nodegroup')).json;
    const sameGroup = await h.api('POST', '/admin/nodegroup', smart('fresh', [{ name: 'us-test1', info: info(1, 1, 300, 600) }], { name: 'taken' }));
    assert.equal(sameGroup.status, 409, sameGroup.text);
    await assertNothingWritten(h, 'fresh', policies, groups);
    // The same request under free names goes through (the refusals above were about the names only).
    assert.equal((await h.api('POST', '/admin/nodegroup', smart('fresh', [{ name: 'us-test1', info: info(1, 1, 300, 600) }], { name: 'free' }))).status, 201);
  });

  it('an unknown region is a 400 naming it, and nothing is written', async (t) => {
    const h = await startHarness(t);
    const policies = (await h.api('GET', '/admin/configurations/scalepolicy')).json;
    const body = smart('smart-mars', [
      { name: 'us-test1', info: info(1, 1, 300, 600) },
      { name: 'mars-1', info: info(1, 1, 300, 600) },
    ]);
    const r = await h.api('POST', '/admin/nodegroup', body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.errorMessage, /region\[1\]\.name: mars-1 is not configured/);
    assert.match(r.json.errorMessage, /configured regions: us-test1/);
    await assertNothingWritten(h, 'smart-mars', policies, []);
    const twice = await h.api('POST', '/admin/nodegroup', smart('smart-mars', [body.region[0], body.region[0]]));
    assert.equal(twice.status, 400);
    assert.match(twice.json.errorMessage, /region\[1\]\.name: region us-test1 is listed twice/);
    await assertNothingWritten(h, 'smart-mars', policies, []);
    // Without the bad region the same request is accepted.
    assert.equal((await h.api('POST', '/admin/nodegroup', { ...body, region: [body.region[0]] })).status, 201);
  });

  it('autoinit launches the first origin and the policy minimum of edges; the answer says initializing', async (t) => {
    const h = await startHarness(t);
    const pool = await Promise.all([2, 3, 4, 5].map((n) => h.node(n)));
    await h.provision(pool);
    // 600..1500 subscribers at 300 per edge → 2..5 edges.
    const r = await h.api('POST', '/admin/nodegroup?autoinit=true', smart('smart-init', [{ name: 'us-test1', info: info(1, 1, 600, 1500) }], { name: 'sg-init' }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.state, 'initializing');
    await h.rt.ops.launchesSettled('sg-init');
    const nodes = (await h.api('GET', '/admin/nodegroup/sg-init/node')).json;
    assert.deepEqual(nodes.map((n: any) => n.role).sort(), ['edge', 'edge', 'origin']);
    assert.equal((await h.api('GET', '/admin/controller/provision/available')).json.length, 1, 'one pool host left');
    assert.equal((await h.api('GET', '/admin/nodegroup/sg-init')).json.state, 'active');
    const events = await h.events('sg-init');
    assert.deepEqual(events.filter((e) => e.kind === 'launch').map((e) => e.role).sort(), ['edge', 'edge', 'origin']);
  });

  it('autoinit with no host to launch on: the error is answered and the group and policy are removed', async (t) => {
    const h = await startHarness(t);
    const policies = (await h.api('GET', '/admin/configurations/scalepolicy')).json;
    const r = await h.api('POST', '/admin/nodegroup?autoinit=true', smart('smart-empty', [{ name: 'us-test1', info: info(1, 1, 300, 600) }], { name: 'sg-empty' }));
    assert.equal(r.status, 503, r.text);
    assert.match(r.json.errorMessage, /pool|host|provision/i);
    await assertNothingWritten(h, 'smart-empty', policies, []);
    assert.equal((await h.api('GET', '/admin/nodegroup/sg-empty')).status, 404);
  });

  it('resize rewrites the limits (other fields kept) and the autoscaler launches up to the new minimum', async (t) => {
    const h = await startHarness(t);
    const pool = await Promise.all([10, 11, 12, 13, 14].map((n) => h.node(n)));
    await h.provision(pool);
    // 1..300 subscribers → 1..1 edge.
    const created = await h.api('POST', '/admin/nodegroup?autoinit=true', smart('smart-rs', [{ name: 'us-test1', info: info(1, 1, 1, 300) }], { name: 'sg-rs' }));
    assert.equal(created.status, 201, created.text);
    await h.rt.ops.launchesSettled('sg-rs');
    const heartbeat = async () => {
      for (const n of pool) if (h.rt.view.nodes.get(n.host)?.group === 'sg-rs') await n.report();
    };
    await heartbeat();
    assert.equal(edgesOf(h, 'sg-rs').length, 1);

    // An operator tuned the policy by hand: resize keeps it.
    const tuned = structuredClone(await policy(h, 'smart-rs'));
    for (const r of tuned.targets.region) for (const tg of r.target) if (tg.role === 'edge') tg.coolDownPeriod = 5000;
    tuned.description = 'hand-tuned';
    assert.equal((await h.api('PUT', '/admin/configurations/scalepolicy/smart-rs', { policy: tuned })).status, 200);

    h.start();
    await h.tick();
    await heartbeat();
    assert.equal(edgesOf(h, 'sg-rs').length, 1, 'nothing to do before the resize');

    // 900..1500 subscribers → 3..5 edges; publishers 600..1200 → 2..3 origins.
    const resized = await h.api('PUT', '/admin/nodegroup/sg-rs', { region: [{ name: 'us-test1', info: info('600', '1200', '900', '1500') }] });
    assert.equal(resized.status, 200, resized.text);
    assert.equal(resized.json.name, 'sg-rs');
    assert.equal(resized.json.state, 'active');
    const p = await policy(h, 'smart-rs');
    assert.deepEqual(limits(p)['us-test1'], { origin: [2, 3], edge: [3, 5] });
    assert.deepEqual(limits(p).default, { origin: [1, 1], edge: [1, 1] }, 'default is not a region of the group: untouched');
    assert.equal(p.description, 'hand-tuned');
    const edgeRule = p.targets.region.find((r: any) => r.name === 'us-test1').target.find((tg: any) => tg.role === 'edge');
    assert.equal(edgeRule.coolDownPeriod, 5000);

    await h.tick();
    await h.rt.ops.launchesSettled('sg-rs');
    await heartbeat();
    await h.tick();
    await h.rt.ops.launchesSettled('sg-rs');
    assert.equal(edgesOf(h, 'sg-rs').length, 3, 'edges up to the new minLimit');
    assert.equal(h.rt.view.nodesOf('sg-rs', 'origin').length, 2, 'origins up to the new minLimit');
    const minLaunches = (await h.events('sg-rs')).filter((e) => e.kind === 'launch' && /below minLimit/.test(e.reason));
    assert.deepEqual(minLaunches.map((e) => e.role).sort(), ['edge', 'edge', 'origin']);
  });

  it('resize refuses regions outside the group, groups with other roles and shared policies; a 0.0.2 policy becomes 0.0.3', async (t) => {
    const h = await startHarness(t, { config: TWO_REGIONS });
    assert.equal((await h.api('POST', '/admin/nodegroup', smart('smart-one', [{ name: 'us-test1', info: info(1, 1, 300, 600) }], { name: 'sg-one' }))).status, 201);
    const before = await policy(h, 'smart-one');
    for (const [region, pattern] of [
      ['mars-1', /region\[0\]\.name: mars-1 is not a region of node group sg-one/],
      ['eu-test2', /region\[0\]\.name: eu-test2 is not a region of node group sg-one/],
    ] as const) {
      const r = await h.api('PUT', '/admin/nodegroup/sg-one', { region: [{ name: region, info: info(1, 1, 300, 3000) }] });
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.errorMessage, pattern);
    }
    const badInfo = await h.api('PUT', '/admin/nodegroup/sg-one', { region: [{ name: 'us-test1', info: info(5, 1, 0, 0) }] });
    assert.equal(badInfo.status, 400);
    assert.match(badInfo.json.errorMessage, /region\[0\]\.info\.maxPublishers: must be ≥ minPublishers/);
    assert.deepEqual(await policy(h, 'smart-one'), before, 'refused resizes write nothing');
    assert.equal((await h.api('PUT', '/admin/nodegroup/nope', { region: [{ name: 'us-test1', info: info(1, 1, 1, 1) }] })).status, 404);

    // A group that runs relays is not an origin+edge group.
    const withRelays = {
      policy: {
        name: 'relays',
        version: '0.0.2',
        targets: { target: [{ role: 'origin', minLimit: 1, maxLimit: 1 }, { role: 'edge', minLimit: 1, maxLimit: 2 }, { role: 'relay', minLimit: 1, maxLimit: 1 }] },
      },
    };
    assert.equal((await h.api('POST', '/admin/configurations/scalepolicy', withRelays)).status, 201);
    assert.equal((await h.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v3', scalePolicy: 'relays', name: 'relayed' })).status, 201);
    const relayed = await h.api('PUT', '/admin/nodegroup/relayed', { region: [{ name: 'us-test1', info: info(1, 1, 1, 1) }] });
    assert.equal(relayed.status, 400, relayed.text);
    assert.match(relayed.json.errorMessage, /origin\+edge groups only/);

    // A 0.0.2 policy of a plain group: its flat list becomes `default`, the resized region gets its own block.
    assert.equal((await h.api('POST', `/admin/configurations/scalepolicy/${LC}/copy/own`)).status, 201);
    assert.equal((await h.api('POST', '/admin/nodegroup', { regions: ['us-test1', 'eu-test2'], launchConfig: LC, scalePolicy: 'own', name: 'plain' })).status, 201);
    const plain = await h.api('PUT', '/admin/nodegroup/plain', { region: [{ name: 'eu-test2', info: info(0, 0, 0, 3000) }] });
    assert.equal(plain.status, 200, plain.text);
    const own = await policy(h, 'own');
    assert.equal(own.version, '0.0.3');
    assert.deepEqual(limits(own), { default: { edge: [2, 10], origin: [1, 2] }, 'eu-test2': { edge: [1, 10], origin: [1, 1] } });

    // Two groups on one policy: resizing one would resize the other.
    assert.equal((await h.api('POST', '/admin/nodegroup', { regions: ['us-test1', 'eu-test2'], launchConfig: LC, scalePolicy: 'own', name: 'plain2' })).status, 201);
    const shared = await h.api('PUT', '/admin/nodegroup/plain', { region: [{ name: 'eu-test2', info: info(0, 0, 0, 600) }] });
    assert.equal(shared.status, 409, shared.text);
    assert.match(shared.json.errorMessage, /also used by node group\(s\) plain2/);
    assert.deepEqual(limits(await policy(h, 'own'))['eu-test2'], { edge: [1, 10], origin: [1, 1] });
  });
});
