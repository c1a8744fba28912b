import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { capacityFor, imageFor, instanceTypeFor, lenientInt, parseLaunchConfig } from '../../src/domain/launch-config.ts';
import { AppError } from '../../src/lib/errors.ts';

const target = (over: Record<string, unknown> = {}) => ({ role: 'origin', instanceType: 'standard', connectionCapacity: 500, ...over });
const inner = (over: Record<string, unknown> = {}) => ({ name: 'lc1', targets: { target: [target()] }, ...over });

/** Asserts a 400 whose message names every field in `fields`. */
function assertRejected(body: unknown, fields: string[], opts?: Parameters<typeof parseLaunchConfig>[1]) {
  assert.throws(
    () => parseLaunchConfig(body, opts),
    (e: unknown) => {
      assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
      assert.equal(e.statusCode, 400);
      for (const f of fields) assert.match(e.message, new RegExp(f.replace(/[.[\]]/g, '\\$&')), `message should name ${f}: ${e.message}`);
      return true;
    },
  );
}

test('capacity leniency: string, integer and integral float all give the number', () => {
  for (const cap of ['500', 500, 500.0, ' 500 ', '500.0', '5e2']) {
    const lc = parseLaunchConfig({ launchconfig: inner({ targets: { target: [target({ connectionCapacity: cap })] } }) });
    assert.equal(lc.targets.target[0].connectionCapacity, 500, `capacity ${JSON.stringify(cap)}`);
  }
});

test('wrapped {launchconfig} and bare inner object give the same document', () => {
  assert.deepEqual(parseLaunchConfig({ launchconfig: inner() }), parseLaunchConfig(inner()));
});

test('defaults: image managed, version 0.0.2, empty description, properties and metadata', () => {
  const lc = parseLaunchConfig(inner());
  assert.deepEqual(lc, {
    name: 'lc1',
    description: '',
    image: 'managed',
    version: '0.0.2',
    targets: { target: [{ role: 'origin', instanceType: 'standard', connectionCapacity: 500 }] },
    properties: { property: [] },
    metadata: { meta: [] },
  });
  // null counts as absent too (some generators emit it)
  const n = parseLaunchConfig(inner({ description: null, image: null, properties: null, metadata: { meta: null } }));
  assert.equal(n.image, 'managed');
  assert.deepEqual(n.properties, { property: [] });
  assert.deepEqual(n.metadata, { meta: [] });
});

test('keeps given fields, per-target image, properties and metadata; role case is normalised', () => {
  const lc = parseLaunchConfig({
    launchconfig: {
      name: 'alltypes-01',
      description: 'd',
      image: 'img',
      version: '0.0.3',
      targets: {
        target: [
          { role: 'Origin', instanceType: 'c5.large', connectionCapacity: '30' },
          { role: 'edge', instanceType: 'c5.large', connectionCapacity: '300', image: 'edge-image' },
        ],
      },
      properties: { property: [{ name: 'UserData', value: 'file:/x.sh' }, { name: 'n', value: 5 }] },
      metadata: { meta: [{ key: 'Name', value: 'alltypes-01-node' }] },
      unknownField: 'dropped',
    },
  });
  assert.equal(lc.version, '0.0.3');
  assert.equal(lc.image, 'img');
  assert.deepEqual(lc.targets.target[0], { role: 'origin', instanceType: 'c5.large', connectionCapacity: 30 });
  assert.deepEqual(lc.targets.target[1], { role: 'edge', instanceType: 'c5.large', connectionCapacity: 300, image: 'edge-image' });
  assert.deepEqual(lc.properties.property, [{ name: 'UserData', value: 'file:/x.sh' }, { name: 'n', value: '5' }]);
  assert.deepEqual(lc.metadata.meta, [{ key: 'Name', value: 'alltypes-01-node' }]);
  assert.equal('unknownField' in lc, false);
});

const invalid: [string, unknown, string[]][] = [
  ['capacity zero', inner({ targets: { target: [target({ connectionCapacity: 0 })] } }), ['targets.target.0.connectionCapacity']],
  ['capacity negative', inner({ targets: { target: [target({ connectionCapacity: '-5' })] } }), ['targets.target.0.connectionCapacity']],
  ['capacity fraction', inner({ targets: { target: [target({ connectionCapacity: '2.5' })] } }), ['targets.target.0.connectionCapacity']],
  ['capacity word', inner({ targets: { target: [target({ connectionCapacity: 'lots' })] } }), ['targets.target.0.connectionCapacity']],
  ['capacity boolean', inner({ targets: { target: [target({ connectionCapacity: true })] } }), ['targets.target.0.connectionCapacity']],
  ['capacity missing', inner({ targets: { target: [{ role: 'origin', instanceType: 's' }] } }), ['targets.target.0.connectionCapacity']],
  ['unknown role', inner({ targets: { target: [target({ role: 'mixer' })] } }), ['targets.target.0.role']],
  ['role twice', inner({ targets: { target: [target(), target()] } }), ['targets.target.1.role']],
  ['no targets', inner({ targets: { target: [] } }), ['targets.target']],
  ['targets missing', { name: 'x' }, ['targets']],
  ['instanceType missing', inner({ targets: { target: [{ role: 'edge', connectionCapacity: 1 }] } }), ['targets.target.0.instanceType']],
  ['name missing', { targets: { target: [target()] } }, ['name']],
  ['name with space', inner({ name: 'a b' }), ['name']],
  ['name with slash', inner({ name: 'a/b' }), ['name']],
  ['name too long', inner({ name: 'a'.repeat(255) }), ['name']],
  ['property value object', inner({ properties: { property: [{ name: 'a', value: {} }] } }), ['properties.property.0.value']],
  ['meta key missing', inner({ metadata: { meta: [{ value: 'v' }] } }), ['metadata.meta.0.key']],
  ['description not a string', inner({ description: 5 }), ['description']],
];

for (const [label, body, fields] of invalid) {
  test(`rejects: ${label}`, () => assertRejected(body, fields));
}

test('a 400 names every bad field at once, prefixed with launchconfig when wrapped', () => {
  assertRejected({ launchconfig: inner({ name: 'a b', targets: { target: [target({ role: 'x', connectionCapacity: 'y' })] } }) }, [
    'launchconfig.name',
    'launchconfig.targets.target.0.role',
    'launchconfig.targets.target.0.connectionCapacity',
  ]);
});

test('name limit is 254 characters inclusive', () => {
  assert.equal(parseLaunchConfig(inner({ name: 'a'.repeat(254) })).name.length, 254);
});

test('non-object bodies are refused', () => {
  for (const b of [null, 'text', 5, [inner()], { launchconfig: 'x' }]) assertRejected(b, []);
});

test('pathName: a missing body name takes it, a different one is refused naming name', () => {
  const { name: _omit, ...noName } = inner();
  assert.equal(parseLaunchConfig({ launchconfig: noName }, { pathName: 'lc9' }).name, 'lc9');
  assert.equal(parseLaunchConfig(inner({ name: 'lc1' }), { pathName: 'lc1' }).name, 'lc1');
  assertRejected({ launchconfig: inner({ name: 'other' }) }, ['launchconfig.name'], { pathName: 'lc1' });
});

test('defaultName fills a missing name but never overrides a given one', () => {
  const { name: _omit, ...noName } = inner();
  assert.equal(parseLaunchConfig(noName, { defaultName: 'file-base' }).name, 'file-base');
  assert.equal(parseLaunchConfig(inner(), { defaultName: 'file-base' }).name, 'lc1');
});

test('capacityFor / instanceTypeFor / imageFor per role, null when the role has no target', () => {
  const lc = parseLaunchConfig(
    inner({
      image: 'base',
      targets: { target: [target({ connectionCapacity: '30' }), { role: 'edge', instanceType: 'big', connectionCapacity: 300, image: 'edge-img' }] },
    }),
  );
  assert.equal(capacityFor(lc, 'origin'), 30);
  assert.equal(capacityFor(lc, 'edge'), 300);
  assert.equal(capacityFor(lc, 'relay'), null);
  assert.equal(instanceTypeFor(lc, 'edge'), 'big');
  assert.equal(instanceTypeFor(lc, 'transcoder'), null);
  assert.equal(imageFor(lc, 'edge'), 'edge-img');
  assert.equal(imageFor(lc, 'origin'), 'base');
  assert.equal(imageFor(lc, 'relay'), null);
});

test('lenientInt: range and default', () => {
  const pct = lenientInt({ min: 1, max: 100 });
  assert.equal(pct.parse('80'), 80);
  assert.equal(pct.parse(80.0), 80);
  for (const bad of [0, 101, '80.5', 'x', undefined]) assert.equal(pct.safeParse(bad).success, false, String(bad));
  assert.equal(lenientInt({ min: 0, default: 7 }).parse(undefined), 7);
});

test('the shipped sample launch configurations parse (0.0.2 seed and 0.0.3)', () => {
  const v2 = parseLaunchConfig(JSON.parse(readFileSync(new URL('../../launchconfigs/simulated-cloud-default-v2.json', import.meta.url), 'utf8')));
  assert.equal(v2.name, 'simulated-cloud-default-v2');
  assert.equal(v2.version, '0.0.2');
  assert.equal(v2.image, 'managed');
  assert.deepEqual(
    v2.targets.target.map((t) => [t.role, t.instanceType, t.connectionCapacity]),
    [
      ['origin', 'standard', 500],
      ['edge', 'standard', 500],
    ],
  );
  const v3 = parseLaunchConfig(JSON.parse(readFileSync(new URL('../../launchconfigs/simulated-cloud-default-v3.json', import.meta.url), 'utf8')));
  assert.equal(v3.name, 'simulated-cloud-default-v3');
  assert.equal(v3.version, '0.0.3');
});
