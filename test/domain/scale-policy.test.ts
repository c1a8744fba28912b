import { terraformPolicy } from '../fixtures/terraform-bodies.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseScalePolicy, policyTargets, POLICY_DEFAULTS, regions } from '../../src/domain/scale-policy.ts';
import { AppError } from '../../src/lib/errors.ts';

const t = (role: string, min: unknown, max: unknown, extra: Record<string, unknown> = {}) => ({ role, minLimit: min, maxLimit: max, ...extra });
const flat = (targets: unknown[], over: Record<string, unknown> = {}) => ({ name: 'sp1', version: '0.0.2', targets: { target: targets }, ...over });
const regional = (regions: { name: string; target: unknown[] }[], over: Record<string, unknown> = {}) => ({
  name: 'sp3',
  version: '0.0.3',
  targets: { region: regions },
  ...over,
});

function assertRejected(body: unknown, fields: string[], opts?: Parameters<typeof parseScalePolicy>[1]) {
  assert.throws(
    () => parseScalePolicy(body, opts),
    (e: unknown) => {
      assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
      assert.equal(e.statusCode, 400);
      for (const f of fields) assert.ok(e.message.includes(f), `message should name ${f}: ${e.message}`);
      return true;
    },
  );
}

test('0.0.2 flat: numbers from strings and floats, defaults filled, classic shape kept', () => {
  const p = parseScalePolicy({ policy: flat([t('edge', '2', 10.0, { scaleAdjustment: '1' }), t('origin', 1.0, '2', { coolDownPeriod: 5000.0 })]) });
  assert.deepEqual(p, {
    name: 'sp1',
    description: '',
    type: '',
    version: '0.0.2',
    targets: {
      target: [
        { role: 'edge', minLimit: 2, maxLimit: 10, scaleAdjustment: 1, coolDownPeriod: 180000, estimatedWarmUpTime: 120000, scaleInWaitTime: 0, scaleOutWaitTime: 0 },
        { role: 'origin', minLimit: 1, maxLimit: 2, scaleAdjustment: 1, coolDownPeriod: 5000, estimatedWarmUpTime: 120000, scaleInWaitTime: 0, scaleOutWaitTime: 0 },
      ],
    },
  });
});

test('defaults when absent: scaleAdjustment 1, coolDown 180000, warm-up 120000, wait times 0', () => {
  const [edge] = parseScalePolicy(flat([t('edge', 0, 3)])).targets.target!;
  assert.deepEqual(
    { ...edge, role: undefined, minLimit: undefined, maxLimit: undefined },
    { role: undefined, minLimit: undefined, maxLimit: undefined, ...POLICY_DEFAULTS },
  );
  assert.deepEqual(POLICY_DEFAULTS, { scaleAdjustment: 1, coolDownPeriod: 180000, estimatedWarmUpTime: 120000, scaleInWaitTime: 0, scaleOutWaitTime: 0 });
});

test('given timing fields are kept (scaleInWaitTime, scaleOutWaitTime, estimatedWarmUpTime)', () => {
  const [edge] = parseScalePolicy(flat([t('edge', 0, 3, { scaleInWaitTime: '60000', scaleOutWaitTime: 1000.0, estimatedWarmUpTime: 150000 })])).targets.target!;
  assert.equal(edge.scaleInWaitTime, 60000);
  assert.equal(edge.scaleOutWaitTime, 1000);
  assert.equal(edge.estimatedWarmUpTime, 150000);
});

test('alias: the seed spelling esitmatedWarmUpTime is read as estimatedWarmUpTime; the right spelling wins', () => {
  const [a] = parseScalePolicy(flat([t('edge', 0, 3, { esitmatedWarmUpTime: '90000' })])).targets.target!;
  assert.equal(a.estimatedWarmUpTime, 90000);
  assert.equal('esitmatedWarmUpTime' in a, false);
  const [b] = parseScalePolicy(flat([t('edge', 0, 3, { esitmatedWarmUpTime: 1, estimatedWarmUpTime: 2 })])).targets.target!;
  assert.equal(b.estimatedWarmUpTime, 2);
  assertRejected(flat([t('edge', 0, 3, { esitmatedWarmUpTime: 'soon' })]), ['targets.target.0.esitmatedWarmUpTime']);
});

test('0.0.3 regions: the exact terraform body (floats for minLimit and scaleAdjustment)', () => {
  const p = parseScalePolicy(terraformPolicy);
  assert.equal(p.name, 'terra-sp');
  assert.equal(p.version, '0.0.3');
  assert.equal(p.type, 'com.red5pro.services.autoscaling.model.ScalePolicyMaster');
  assert.equal(p.targets.target, undefined);
  assert.equal(p.targets.region![0].name, 'default');
  assert.deepEqual(
    p.targets.region![0].target.map((x) => [x.role, x.minLimit, x.maxLimit, x.scaleAdjustment]),
    [
      ['edge', 1, 10, 1],
      ['origin', 1, 1, 1],
      ['relay', 0, 0, 1],
      ['transcoder', 0, 0, 1],
    ],
  );
});

test('version is inferred from the shape when absent; 0.0.3 gets the ScalePolicyMaster type', () => {
  assert.equal(parseScalePolicy({ name: 'a', targets: { target: [t('edge', 0, 1)] } }).version, '0.0.2');
  const r = parseScalePolicy({ name: 'a', targets: { region: [{ name: 'default', target: [t('edge', 0, 1)] }] } });
  assert.equal(r.version, '0.0.3');
  assert.equal(r.type, 'com.red5pro.services.autoscaling.model.ScalePolicyMaster');
});

const invalid: [string, unknown, string[]][] = [
  ['unknown role', flat([t('mixer', 0, 1)]), ['targets.target.0.role']],
  ['role twice (flat)', flat([t('edge', 0, 1), t('edge', 0, 2)]), ['targets.target.1.role']],
  ['role twice in a region', regional([{ name: 'default', target: [t('edge', 0, 1), t('edge', 0, 2)] }]), ['targets.region.0.target.1.role']],
  ['minLimit > maxLimit', flat([t('edge', 5, 2)]), ['targets.target.0.minLimit']],
  ['negative minLimit', flat([t('edge', -1, 2)]), ['targets.target.0.minLimit']],
  ['fractional maxLimit', flat([t('edge', 0, 2.5)]), ['targets.target.0.maxLimit']],
  ['maxLimit missing', flat([{ role: 'edge', minLimit: 0 }]), ['targets.target.0.maxLimit']],
  ['minLimit missing', flat([{ role: 'edge', maxLimit: 1 }]), ['targets.target.0.minLimit']],
  ['minLimit word', flat([t('edge', 'two', 3)]), ['targets.target.0.minLimit']],
  ['scaleAdjustment 0', flat([t('edge', 0, 3, { scaleAdjustment: 0 })]), ['targets.target.0.scaleAdjustment']],
  ['negative coolDownPeriod', flat([t('edge', 0, 3, { coolDownPeriod: -1 })]), ['targets.target.0.coolDownPeriod']],
  ['negative scaleInWaitTime', flat([t('edge', 0, 3, { scaleInWaitTime: '-5' })]), ['targets.target.0.scaleInWaitTime']],
  ['fractional scaleOutWaitTime', flat([t('edge', 0, 3, { scaleOutWaitTime: 0.5 })]), ['targets.target.0.scaleOutWaitTime']],
  ['origin maxLimit 0', flat([t('origin', 0, 0)]), ['targets.target.0.maxLimit']],
  ['origin maxLimit 0 with edges required (unsatisfiable)', flat([t('origin', 0, 0), t('edge', 2, 5)]), ['targets.target.0.maxLimit', 'edge minLimit 2']],
  ['origin maxLimit 0 in a region', regional([{ name: 'default', target: [t('edge', 0, 1)] }, { name: 'us-x', target: [t('origin', 0, 0), t('relay', 1, 1)] }]), ['targets.region.1.target.0.maxLimit', 'relay minLimit 1']],
  ['0.0.3 without a default region', regional([{ name: 'us-test1', target: [t('edge', 0, 1)] }]), ['targets.region', 'default']],
  ['region listed twice', regional([{ name: 'default', target: [t('edge', 0, 1)] }, { name: 'default', target: [t('edge', 0, 1)] }]), ['targets.region.1.name']],
  ['region without name', regional([{ name: 'default', target: [t('edge', 0, 1)] }, { target: [t('edge', 0, 1)] } as never]), ['targets.region.1.name']],
  ['region with no targets', regional([{ name: 'default', target: [] }]), ['targets.region.0.target']],
  ['no targets', flat([]), ['targets.target']],
  ['targets missing', { name: 'x' }, ['targets']],
  ['targets empty object', { name: 'x', targets: {} }, ['targets']],
  ['both target and region', { name: 'x', targets: { target: [t('edge', 0, 1)], region: [{ name: 'default', target: [t('edge', 0, 1)] }] } }, ['targets']],
  ['version 0.0.3 with a flat list', flat([t('edge', 0, 1)], { version: '0.0.3' }), ['targets.target']],
  ['version 0.0.2 with regions', regional([{ name: 'default', target: [t('edge', 0, 1)] }], { version: '0.0.2' }), ['targets.region']],
  ['name missing', { targets: { target: [t('edge', 0, 1)] } }, ['name']],
  ['name too long', flat([t('edge', 0, 1)], { name: 'p'.repeat(255) }), ['name']],
  ['name with slash', flat([t('edge', 0, 1)], { name: 'a/b' }), ['name']],
];

for (const [label, body, fields] of invalid) {
  test(`rejects: ${label}`, () => assertRejected(body, fields));
}

test('a wrapped body is reported with the policy. prefix, naming every field', () => {
  assertRejected({ policy: flat([t('edge', 'x', 1), t('foo', 0, 1)]) }, ['policy.targets.target.0.minLimit', 'policy.targets.target.1.role']);
});

test('pathName: body name must equal the path name or be absent', () => {
  const body = flat([t('edge', 0, 1)]);
  const { name: _n, ...noName } = body;
  assert.equal(parseScalePolicy({ policy: noName }, { pathName: 'sp7' }).name, 'sp7');
  assertRejected({ policy: body }, ['policy.name'], { pathName: 'other' });
});

test('policyTargets: 0.0.2 flat list applies to every region; origin absent → 1..1', () => {
  const p = parseScalePolicy(flat([t('edge', 2, 10)]));
  for (const region of [undefined, 'us-test1', 'anything']) {
    const m = policyTargets(p, region);
    assert.deepEqual([...m.keys()].sort(), ['edge', 'origin']);
    assert.equal(m.get('edge')!.minLimit, 2);
    assert.equal(m.get('edge')!.maxLimit, 10);
    assert.equal(m.get('origin')!.minLimit, 1);
    assert.equal(m.get('origin')!.maxLimit, 1);
    assert.equal(m.get('origin')!.coolDownPeriod, POLICY_DEFAULTS.coolDownPeriod);
    assert.equal(m.has('relay'), false);
    assert.equal(m.has('transcoder'), false);
  }
});

test('policyTargets: an explicit origin target is used as given', () => {
  const m = policyTargets(parseScalePolicy(flat([t('origin', 2, 5)])));
  assert.equal(m.get('origin')!.minLimit, 2);
  assert.equal(m.get('origin')!.maxLimit, 5);
});

test('policyTargets: 0.0.3 picks the region by name, else default', () => {
  const p = parseScalePolicy(
    regional([
      { name: 'default', target: [t('edge', 1, 20), t('origin', 1, 10)] },
      { name: 'us-west-2', target: [t('edge', 2, 20), t('relay', 1, 3)] },
    ]),
  );
  const west = policyTargets(p, 'us-west-2');
  assert.equal(west.get('edge')!.minLimit, 2);
  assert.equal(west.get('relay')!.maxLimit, 3);
  // the region block is complete on its own: no origin there → the seed default, not default's 1..10
  assert.deepEqual([west.get('origin')!.minLimit, west.get('origin')!.maxLimit], [1, 1]);
  for (const region of [undefined, 'eu-central-1']) {
    const d = policyTargets(p, region);
    assert.equal(d.get('edge')!.minLimit, 1);
    assert.equal(d.get('origin')!.maxLimit, 10);
    assert.equal(d.has('relay'), false);
  }
});

test('policyTargets completes partial targets of stored documents written by other tools', () => {
  const m = policyTargets({ name: 'x', description: '', type: '', version: '0.0.2', targets: { target: [{ role: 'edge', minLimit: 1, maxLimit: 4 }] } });
  assert.deepEqual(m.get('edge'), { role: 'edge', minLimit: 1, maxLimit: 4, ...POLICY_DEFAULTS });
});

test('the shipped sample policies parse: 0.0.2 seed (misspelt warm-up) and 0.0.3 with default and us-test1', () => {
  const v2 = parseScalePolicy(JSON.parse(readFileSync(new URL('../../scalingpolicies/simulated-cloud-default-v2.json', import.meta.url), 'utf8')));
  assert.equal(v2.name, 'simulated-cloud-default-v2');
  const m = policyTargets(v2, 'us-test1');
  assert.deepEqual([m.get('edge')!.minLimit, m.get('edge')!.maxLimit, m.get('edge')!.estimatedWarmUpTime, m.get('edge')!.coolDownPeriod], [2, 10, 120000, 180000]);
  assert.deepEqual([m.get('origin')!.minLimit, m.get('origin')!.maxLimit], [1, 2]);

  const v3 = parseScalePolicy(JSON.parse(readFileSync(new URL('../../scalingpolicies/simulated-cloud-default-v3.json', import.meta.url), 'utf8')));
  assert.equal(v3.version, '0.0.3');
  assert.deepEqual(v3.targets.region!.map((r) => r.name), ['default', 'us-test1']);
  assert.equal(policyTargets(v3, 'us-test1').get('edge')!.minLimit, 2);
  assert.equal(policyTargets(v3, 'elsewhere').get('edge')!.minLimit, 1);
});

test('regions: per-region view; a 0.0.2 flat list shows as default', () => {
  const flatView = regions(parseScalePolicy(flat([t('edge', 2, 10)])));
  assert.deepEqual([...flatView.keys()], ['default']);
  assert.equal(flatView.get('default')!.get('edge')!.minLimit, 2);
  const view = regions(parseScalePolicy(regional([{ name: 'default', target: [t('edge', 1, 2)] }, { name: 'us-test1', target: [t('edge', 3, 4)] }])));
  assert.deepEqual([...view.keys()], ['default', 'us-test1']);
  assert.equal(view.get('us-test1')!.get('edge')!.minLimit, 3);
  assert.equal(view.get('us-test1')!.get('origin')!.maxLimit, 1);
});
