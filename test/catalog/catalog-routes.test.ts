import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { terraformPolicy } from '../fixtures/terraform-bodies.ts';
import { pluginApp, adminUrl } from '../support/http.ts';
import { catalogRoutes } from '../../src/http/routes/catalog.ts';
import { createCatalog, type Catalog } from '../../src/catalog/catalog.ts';
import { openSqliteStore } from '../../src/store/sqlite-store.ts';
import type { ClusterStore } from '../../src/store/cluster-store.ts';
import { createLogger } from '../../src/lib/logger.ts';

const log = createLogger('silent');

async function setup(t: TestContext): Promise<{ app: FastifyInstance; store: ClusterStore; catalog: Catalog }> {
  const store = openSqliteStore(':memory:');
  t.after(() => store.close());
  const catalog = await createCatalog({ store, log });
  const app = await pluginApp(t, { admin: [catalogRoutes({ catalog })] });
  return { app, store, catalog };
}

/** What terraform (r5p_create_node_group.sh) posts: capacities as strings, per-target image, Name meta. */
const terraformLaunchConfig = {
  launchconfig: {
    name: 'terra-lc',
    description: 'Launch configuration created by terraform',
    image: 'red5pro-node-image',
    version: '0.0.3',
    targets: {
      target: [
        { role: 'origin', instanceType: 'c5.large', connectionCapacity: '30' },
        { role: 'edge', instanceType: 'c5.large', connectionCapacity: '300', image: 'edge-image' },
      ],
    },
    properties: { property: [{ name: 'network', value: 'default' }] },
    metadata: { meta: [{ key: 'Name', value: 'terra-lc-node' }] },
  },
};


const lc = (name: string, capacity: unknown = '500') => ({
  launchconfig: { name, image: 'managed', version: '0.0.2', targets: { target: [{ role: 'origin', instanceType: 'standard', connectionCapacity: capacity }] } },
});
const sp = (name: string, max: unknown = 10) => ({ policy: { name, version: '0.0.2', targets: { target: [{ role: 'edge', minLimit: 1, maxLimit: max }] } } });

/** Classic error body: {errorMessage, timestamp}, JSON. */
function assertError(res: { statusCode: number; headers: Record<string, unknown>; json(): any }, status: number, pattern?: RegExp) {
  assert.equal(res.statusCode, status, JSON.stringify(res.json()));
  assert.match(String(res.headers['content-type']), /application\/json/);
  const body = res.json();
  assert.equal(typeof body.errorMessage, 'string');
  assert.equal(typeof body.timestamp, 'number');
  if (pattern) assert.match(body.errorMessage, pattern);
}

// ---------------------------------------------------------------- auth

test('every catalog route is 401 without the token', async (t) => {
  const { app } = await setup(t);
  const routes: [string, string][] = [
    ['POST', '/configurations/launchconfig'],
    ['GET', '/configurations/launchconfig'],
    ['GET', '/configurations/launchconfig/x'],
    ['PUT', '/configurations/launchconfig/x'],
    ['DELETE', '/configurations/launchconfig/x'],
    ['POST', '/configurations/launchconfig/x/copy/y'],
    ['POST', '/configurations/scalepolicy'],
    ['GET', '/configurations/scalepolicy'],
    ['GET', '/configurations/scalepolicy/x'],
    ['PUT', '/configurations/scalepolicy/x'],
    ['DELETE', '/configurations/scalepolicy/x'],
    ['POST', '/configurations/scalepolicy/x/copy/y'],
    ['GET', '/alarm/scaleout/default?type=edge'],
    ['POST', '/alarm/scaleout/default?type=edge&threshold=80'],
  ];
  for (const [method, path] of routes) {
    const res = await app.inject({ method: method as 'GET', url: `/streammanager/api/4.0/admin${path}`, payload: method === 'POST' || method === 'PUT' ? {} : undefined });
    assertError(res, 401);
    const wrong = await app.inject({ method: method as 'GET', url: `/streammanager/api/4.0/admin${path}${path.includes('?') ? '&' : '?'}accessToken=wrong` });
    assertError(wrong, 401);
  }
});

// ---------------------------------------------------------------- launch configurations

test('L1 terraform launchconfig body → 201 {launchconfig, name}, capacities as numbers', async (t) => {
  const { app, catalog } = await setup(t);
  const res = await app.inject({ method: 'POST', url: adminUrl('/configurations/launchconfig'), payload: terraformLaunchConfig });
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json();
  assert.equal(body.name, 'terra-lc'); // terraform: jq .name
  assert.equal(body.launchconfig.name, 'terra-lc');
  assert.deepEqual(body.launchconfig.targets.target, [
    { role: 'origin', instanceType: 'c5.large', connectionCapacity: 30 },
    { role: 'edge', instanceType: 'c5.large', connectionCapacity: 300, image: 'edge-image' },
  ]);
  assert.deepEqual(body.launchconfig.metadata, { meta: [{ key: 'Name', value: 'terra-lc-node' }] });
  assert.equal(catalog.launchConfig('terra-lc')!.targets.target[1].connectionCapacity, 300);
});

test('L1 on API 3.0 too, with a bare body and no content type', async (t) => {
  const { app } = await setup(t);
  const res = await app.inject({
    method: 'POST',
    url: adminUrl('/configurations/launchconfig', '3.0'),
    payload: JSON.stringify(lc('v3lc').launchconfig),
    headers: { 'content-type': 'text/plain' },
  });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().launchconfig.targets.target[0].connectionCapacity, 500);
});

test('L1 errors: 400 naming each bad field, 409 duplicate', async (t) => {
  const { app } = await setup(t);
  const bad = await app.inject({
    method: 'POST',
    url: adminUrl('/configurations/launchconfig'),
    payload: { launchconfig: { name: 'bad lc', targets: { target: [{ role: 'mixer', instanceType: 's', connectionCapacity: '0' }] } } },
  });
  assertError(bad, 400, /launchconfig\.name/);
  const msg = bad.json().errorMessage as string;
  assert.match(msg, /launchconfig\.targets\.target\.0\.role/);
  assert.match(msg, /launchconfig\.targets\.target\.0\.connectionCapacity/);

  assertError(await app.inject({ method: 'POST', url: adminUrl('/configurations/launchconfig'), payload: '{not json' }), 400);

  assert.equal((await app.inject({ method: 'POST', url: adminUrl('/configurations/launchconfig'), payload: lc('dup') })).statusCode, 201);
  assertError(await app.inject({ method: 'POST', url: adminUrl('/configurations/launchconfig'), payload: lc('dup') }), 409, /A launch configuration named dup already exists/);
});

test('L2 lists names; L3 GET/PUT/DELETE; L4 copy (API 3.0 and 4.0)', async (t) => {
  const { app, store } = await setup(t);
  for (const v of ['3.0', '4.0']) {
    const name = `lc-${v.replace('.', '')}`;
    assert.equal((await app.inject({ method: 'POST', url: adminUrl('/configurations/launchconfig', v), payload: lc(name, 100) })).statusCode, 201);

    const one = await app.inject({ method: 'GET', url: adminUrl(`/configurations/launchconfig/${name}`, v) });
    assert.equal(one.statusCode, 200);
    assert.deepEqual(Object.keys(one.json()), ['launchconfig']);
    assert.equal(one.json().launchconfig.targets.target[0].connectionCapacity, 100);

    const put = await app.inject({ method: 'PUT', url: adminUrl(`/configurations/launchconfig/${name}`, v), payload: lc(name, '250') });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().launchconfig.targets.target[0].connectionCapacity, 250);
    assert.equal((await store.getLaunchConfig(name))!.targets.target[0].connectionCapacity, 250);

    const copy = await app.inject({ method: 'POST', url: adminUrl(`/configurations/launchconfig/${name}/copy/${name}-copy`, v) });
    assert.equal(copy.statusCode, 201, copy.body);
    assert.equal(copy.json().launchconfig.name, `${name}-copy`);
    assert.equal(copy.json().launchconfig.targets.target[0].connectionCapacity, 250);
  }
  const list = await app.inject({ method: 'GET', url: adminUrl('/configurations/launchconfig') });
  assert.equal(list.statusCode, 200);
  assert.deepEqual(list.json(), ['lc-30', 'lc-30-copy', 'lc-40', 'lc-40-copy']);

  const del = await app.inject({ method: 'DELETE', url: adminUrl('/configurations/launchconfig/lc-30-copy', '3.0') });
  assert.equal(del.statusCode, 200);
  assert.equal(del.json().launchconfig.name, 'lc-30-copy');
  assertError(await app.inject({ method: 'GET', url: adminUrl('/configurations/launchconfig/lc-30-copy') }), 404, /lc-30-copy/);
  assert.deepEqual((await app.inject({ method: 'GET', url: adminUrl('/configurations/launchconfig') })).json(), ['lc-30', 'lc-40', 'lc-40-copy']);
});

test('L3/L4 errors: 404 unknown, 400 path name mismatch, 400 too long, 409 in use, 409 copy onto existing', async (t) => {
  const { app, store } = await setup(t);
  await app.inject({ method: 'POST', url: adminUrl('/configurations/launchconfig'), payload: lc('lc1') });
  await app.inject({ method: 'POST', url: adminUrl('/configurations/launchconfig'), payload: lc('lc2') });

  for (const method of ['GET', 'DELETE'] as const) {
    assertError(await app.inject({ method, url: adminUrl('/configurations/launchconfig/ghost') }), 404, /ghost/);
  }
  assertError(await app.inject({ method: 'PUT', url: adminUrl('/configurations/launchconfig/ghost'), payload: lc('ghost') }), 404);
  assertError(await app.inject({ method: 'POST', url: adminUrl('/configurations/launchconfig/ghost/copy/g2') }), 404);
  assertError(await app.inject({ method: 'PUT', url: adminUrl('/configurations/launchconfig/lc1'), payload: lc('lc2') }), 400, /name/);
  assertError(await app.inject({ method: 'GET', url: adminUrl(`/configurations/launchconfig/${'a'.repeat(255)}`) }), 400, /name/);
  assertError(await app.inject({ method: 'POST', url: adminUrl(`/configurations/launchconfig/lc1/copy/${'b'.repeat(255)}`) }), 400, /newName/);
  assertError(await app.inject({ method: 'POST', url: adminUrl('/configurations/launchconfig/lc1/copy/lc2') }), 409, /lc2 already exists/);

  await store.createGroup({ name: 'grp1', regions: ['us-test1'], launchConfig: 'lc1', scalePolicy: 'x', state: 'active', baseCapacity: 0, timestamp: 1 });
  assertError(await app.inject({ method: 'DELETE', url: adminUrl('/configurations/launchconfig/lc1') }), 409, /grp1/);
  assert.equal((await app.inject({ method: 'GET', url: adminUrl('/configurations/launchconfig/lc1') })).statusCode, 200);
});

test('GETs see what another manager instance wrote to the shared store', async (t) => {
  const { app, store } = await setup(t);
  const other = await createCatalog({ store, log });
  await other.createLaunchConfig(lc('from-other'));
  await other.createScalePolicy(sp('sp-other'));
  await other.setThreshold('edge', 44);
  assert.deepEqual((await app.inject({ method: 'GET', url: adminUrl('/configurations/launchconfig') })).json(), ['from-other']);
  assert.equal((await app.inject({ method: 'GET', url: adminUrl('/configurations/launchconfig/from-other') })).statusCode, 200);
  assert.deepEqual((await app.inject({ method: 'GET', url: adminUrl('/configurations/scalepolicy') })).json(), ['sp-other']);
  assert.equal((await app.inject({ method: 'GET', url: adminUrl('/configurations/scalepolicy/sp-other') })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: adminUrl('/alarm/scaleout/default?type=edge') })).json().threshold, 44);
});

// ---------------------------------------------------------------- scale policies

test('P1 terraform 0.0.3 policy body with floats → 201 {policy} with .policy.name and numbers', async (t) => {
  const { app, catalog } = await setup(t);
  const res = await app.inject({ method: 'POST', url: adminUrl('/configurations/scalepolicy'), payload: terraformPolicy });
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json();
  assert.equal(body.policy.name, 'terra-sp'); // terraform: jq .policy.name
  assert.equal(body.policy.version, '0.0.3');
  assert.equal(body.policy.type, 'com.red5pro.services.autoscaling.model.ScalePolicyMaster');
  const edge = body.policy.targets.region[0].target[0];
  assert.deepEqual(edge, {
    role: 'edge',
    minLimit: 1,
    maxLimit: 10,
    scaleAdjustment: 1,
    coolDownPeriod: 180000,
    estimatedWarmUpTime: 120000,
    scaleInWaitTime: 0,
    scaleOutWaitTime: 0,
  });
  assert.ok(catalog.scalePolicy('terra-sp'));
});

test('P1 seed 0.0.2 policy with strings and the misspelt warm-up key (API 3.0)', async (t) => {
  const { app } = await setup(t);
  const seed = {
    policy: {
      name: 'simulated-cloud-default-v2',
      description: 'This is a sample scale policy file for simulated cloud group',
      version: '0.0.2',
      type: '',
      targets: {
        target: [
          { role: 'edge', coolDownPeriod: '180000', esitmatedWarmUpTime: '90000', minLimit: '2', maxLimit: '10', scaleAdjustment: '1' },
          { role: 'origin', coolDownPeriod: '180000', esitmatedWarmUpTime: '90000', minLimit: '1', maxLimit: '2', scaleAdjustment: '1' },
        ],
      },
    },
  };
  const res = await app.inject({ method: 'POST', url: adminUrl('/configurations/scalepolicy', '3.0'), payload: seed });
  assert.equal(res.statusCode, 201, res.body);
  const [edge, origin] = res.json().policy.targets.target;
  assert.deepEqual([edge.minLimit, edge.maxLimit, edge.estimatedWarmUpTime], [2, 10, 90000]);
  assert.deepEqual([origin.minLimit, origin.maxLimit], [1, 2]);
});

test('P1 errors: 400 naming the field (min > max, missing default region, origin max 0), 409 duplicate', async (t) => {
  const { app } = await setup(t);
  const url = adminUrl('/configurations/scalepolicy');
  assertError(
    await app.inject({ method: 'POST', url, payload: { policy: { name: 'p', targets: { target: [{ role: 'edge', minLimit: 5, maxLimit: 2 }] } } } }),
    400,
    /policy\.targets\.target\.0\.minLimit/,
  );
  assertError(
    await app.inject({ method: 'POST', url, payload: { policy: { name: 'p', version: '0.0.3', targets: { region: [{ name: 'us-east-1', target: [{ role: 'edge', minLimit: 1, maxLimit: 2 }] }] } } } }),
    400,
    /policy\.targets\.region: .*default/,
  );
  assertError(
    await app.inject({ method: 'POST', url, payload: { policy: { name: 'p', targets: { target: [{ role: 'origin', minLimit: 0, maxLimit: 0 }, { role: 'edge', minLimit: 1, maxLimit: 2 }] } } } }),
    400,
    /policy\.targets\.target\.0\.maxLimit/,
  );
  assert.equal((await app.inject({ method: 'POST', url, payload: sp('dup') })).statusCode, 201);
  assertError(await app.inject({ method: 'POST', url, payload: sp('dup') }), 409, /A scale policy named dup already exists/);
});

test('P2 list, P3 GET/PUT/DELETE, P4 copy; 404, 409 in use (API 3.0 and 4.0)', async (t) => {
  const { app, store } = await setup(t);
  for (const v of ['3.0', '4.0']) {
    const name = `sp-${v.replace('.', '')}`;
    assert.equal((await app.inject({ method: 'POST', url: adminUrl('/configurations/scalepolicy', v), payload: sp(name, 4) })).statusCode, 201);
    const one = await app.inject({ method: 'GET', url: adminUrl(`/configurations/scalepolicy/${name}`, v) });
    assert.equal(one.statusCode, 200);
    assert.deepEqual(Object.keys(one.json()), ['policy']);
    assert.equal(one.json().policy.targets.target[0].maxLimit, 4);

    const put = await app.inject({ method: 'PUT', url: adminUrl(`/configurations/scalepolicy/${name}`, v), payload: sp(name, '8') });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().policy.targets.target[0].maxLimit, 8);

    const copy = await app.inject({ method: 'POST', url: adminUrl(`/configurations/scalepolicy/${name}/copy/${name}-b`, v) });
    assert.equal(copy.statusCode, 201);
    assert.equal(copy.json().policy.name, `${name}-b`);
    assert.equal(copy.json().policy.targets.target[0].maxLimit, 8);
  }
  assert.deepEqual((await app.inject({ method: 'GET', url: adminUrl('/configurations/scalepolicy', '3.0') })).json(), ['sp-30', 'sp-30-b', 'sp-40', 'sp-40-b']);

  const del = await app.inject({ method: 'DELETE', url: adminUrl('/configurations/scalepolicy/sp-40-b') });
  assert.equal(del.statusCode, 200);
  assert.equal(del.json().policy.name, 'sp-40-b');
  assertError(await app.inject({ method: 'GET', url: adminUrl('/configurations/scalepolicy/sp-40-b') }), 404);
  assertError(await app.inject({ method: 'DELETE', url: adminUrl('/configurations/scalepolicy/sp-40-b') }), 404);
  assertError(await app.inject({ method: 'PUT', url: adminUrl('/configurations/scalepolicy/ghost'), payload: sp('ghost') }), 404);
  assertError(await app.inject({ method: 'POST', url: adminUrl('/configurations/scalepolicy/ghost/copy/g2') }), 404);
  assertError(await app.inject({ method: 'PUT', url: adminUrl('/configurations/scalepolicy/sp-30'), payload: sp('sp-40') }), 400, /name/);
  assertError(await app.inject({ method: 'POST', url: adminUrl('/configurations/scalepolicy/sp-30/copy/sp-40') }), 409);
  assertError(await app.inject({ method: 'GET', url: adminUrl(`/configurations/scalepolicy/${'p'.repeat(255)}`) }), 400, /name/);

  await store.createGroup({ name: 'grp1', regions: ['us-test1'], launchConfig: 'x', scalePolicy: 'sp-30', state: 'active', baseCapacity: 0, timestamp: 1 });
  assertError(await app.inject({ method: 'DELETE', url: adminUrl('/configurations/scalepolicy/sp-30') }), 409, /grp1/);
});

// ---------------------------------------------------------------- alarms

const ALARM = { type: 'SCALEOUTALARM', metric: 'CONNECTIONS', unit: 'PERCENTAGE', comparator: 'GREATERTHAN', targetType: 'GROUP' };

test('A1 GET default alarm per role: threshold 60 and the classic fields', async (t) => {
  const { app } = await setup(t);
  for (const type of ['edge', 'origin', 'relay', 'transcoder']) {
    const res = await app.inject({ method: 'GET', url: adminUrl(`/alarm/scaleout/default?type=${type}`) });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual({ ...body, id: undefined }, { ...ALARM, id: undefined, threshold: 60 });
    assert.equal(typeof body.id, 'number');
  }
  assert.equal((await app.inject({ method: 'GET', url: adminUrl('/alarm/scaleout/default?type=edge') })).json().id, 1);
});

test('A2 POST sets the threshold ("80", 80.0, 80) and A1 reads it back; other roles unchanged', async (t) => {
  const { app, catalog } = await setup(t);
  for (const [v, th] of [
    ['2.0', '80'],
    ['3.1', '70.0'],
    ['4.0', '65'],
  ]) {
    const res = await app.inject({ method: 'POST', url: adminUrl(`/alarm/scaleout/default?type=edge&threshold=${th}`, v) });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { id: 1, ...ALARM, threshold: Number(th) });
  }
  assert.equal(catalog.threshold('edge'), 65);
  assert.equal((await app.inject({ method: 'GET', url: adminUrl('/alarm/scaleout/default?type=edge') })).json().threshold, 65);
  assert.equal((await app.inject({ method: 'GET', url: adminUrl('/alarm/scaleout/default?type=origin') })).json().threshold, 60);
});

test('A1/A2 errors: missing or unknown type, threshold out of range or missing → 400 naming the field', async (t) => {
  const { app } = await setup(t);
  assertError(await app.inject({ method: 'GET', url: adminUrl('/alarm/scaleout/default') }), 400, /type/);
  assertError(await app.inject({ method: 'GET', url: adminUrl('/alarm/scaleout/default?type=mixer') }), 400, /type/);
  assertError(await app.inject({ method: 'POST', url: adminUrl('/alarm/scaleout/default?threshold=50') }), 400, /type/);
  for (const th of ['0', '101', '50.5', 'high']) {
    assertError(await app.inject({ method: 'POST', url: adminUrl(`/alarm/scaleout/default?type=edge&threshold=${th}`) }), 400, /threshold/);
  }
  assertError(await app.inject({ method: 'POST', url: adminUrl('/alarm/scaleout/default?type=edge') }), 400, /threshold/);
  assert.equal((await app.inject({ method: 'GET', url: adminUrl('/alarm/scaleout/default?type=edge') })).json().threshold, 60);
});
