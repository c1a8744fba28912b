import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCatalog, DEFAULT_THRESHOLD } from '../../src/catalog/catalog.ts';
import { openSqliteStore } from '../../src/store/sqlite-store.ts';
import { StoreUnavailableError, type ClusterStore } from '../../src/store/cluster-store.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { AppError } from '../../src/lib/errors.ts';
import { parseLaunchConfig } from '../../src/domain/launch-config.ts';

const log = createLogger('silent');

const lcBody = (name: string, capacity: unknown = '500') => ({
  launchconfig: {
    name,
    description: 'd',
    image: 'managed',
    version: '0.0.2',
    targets: { target: [{ role: 'origin', instanceType: 'standard', connectionCapacity: capacity }] },
  },
});
const spBody = (name: string, edgeMax: unknown = 10) => ({
  policy: { name, version: '0.0.2', targets: { target: [{ role: 'edge', minLimit: '1', maxLimit: edgeMax }] } },
});

function memStore(t: TestContext): ClusterStore {
  const s = openSqliteStore(':memory:');
  t.after(() => s.close());
  return s;
}

function tempDir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'catalog-test-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function rejectsWith(p: Promise<unknown>, status: number, pattern?: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
    assert.equal(e.statusCode, status, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

const group = (name: string, launchConfig: string, scalePolicy: string) => ({
  name,
  regions: ['us-test1'],
  launchConfig,
  scalePolicy,
  state: 'active' as const,
  baseCapacity: 0,
  timestamp: Date.now(),
});

/** A store whose listed methods fail as a broken database would. */
function failing(store: ClusterStore, methods: string[]): ClusterStore {
  return new Proxy(store, {
    get(target, key) {
      if (typeof key === 'string' && methods.includes(key)) return async () => { throw new StoreUnavailableError('database down'); };
      const v = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('loads what the store holds at creation and serves it synchronously', async (t) => {
  const store = memStore(t);
  const a = await createCatalog({ store, log });
  await a.createLaunchConfig(lcBody('lc1'));
  await a.createScalePolicy(spBody('sp1'));
  await a.setThreshold('edge', 75);

  const b = await createCatalog({ store, log });
  assert.equal(b.launchConfig('lc1')?.targets.target[0].connectionCapacity, 500);
  assert.equal(b.scalePolicy('sp1')?.targets.target?.[0].maxLimit, 10);
  assert.deepEqual(b.launchConfigNames(), ['lc1']);
  assert.deepEqual(b.scalePolicyNames(), ['sp1']);
  assert.equal(b.threshold('edge'), 75);
  assert.equal(b.launchConfig('nope'), null);
  assert.equal(b.scalePolicy('nope'), null);
});

test('create stores the normalised document and caches it; cached documents are frozen', async (t) => {
  const store = memStore(t);
  const c = await createCatalog({ store, log });
  const doc = await c.createLaunchConfig(lcBody('lc1', 250.0));
  assert.equal(doc.targets.target[0].connectionCapacity, 250);
  assert.deepEqual(await store.getLaunchConfig('lc1'), doc);
  const cached = c.launchConfig('lc1')!;
  assert.deepEqual(cached, doc);
  assert.throws(() => {
    (cached.targets.target[0] as { connectionCapacity: number }).connectionCapacity = 1;
  }, TypeError);
});

test('duplicate names are 409 with the classic-style message, for both kinds', async (t) => {
  const c = await createCatalog({ store: memStore(t), log });
  await c.createLaunchConfig(lcBody('lc1'));
  await rejectsWith(c.createLaunchConfig(lcBody('lc1')), 409, /^A launch configuration named lc1 already exists/);
  await c.createScalePolicy(spBody('sp1'));
  await rejectsWith(c.createScalePolicy(spBody('sp1')), 409, /^A scale policy named sp1 already exists/);
});

test('invalid documents are 400 and reach neither store nor cache', async (t) => {
  const store = memStore(t);
  const c = await createCatalog({ store, log });
  await rejectsWith(c.createLaunchConfig(lcBody('lc1', 'many')), 400, /connectionCapacity/);
  await rejectsWith(c.createScalePolicy(spBody('sp1', -1)), 400, /maxLimit/);
  assert.deepEqual(await store.listLaunchConfigs(), []);
  assert.deepEqual(c.launchConfigNames(), []);
  assert.deepEqual(c.scalePolicyNames(), []);
});

test('update: replaces store and cache; body name must match the path; unknown is 404', async (t) => {
  const store = memStore(t);
  const c = await createCatalog({ store, log });
  await c.createLaunchConfig(lcBody('lc1', 500));
  const u = await c.updateLaunchConfig('lc1', lcBody('lc1', '900'));
  assert.equal(u.targets.target[0].connectionCapacity, 900);
  assert.equal(c.launchConfig('lc1')!.targets.target[0].connectionCapacity, 900);
  assert.equal((await store.getLaunchConfig('lc1'))!.targets.target[0].connectionCapacity, 900);

  // name absent from the body: the path's name is used
  const { name: _n, ...noName } = lcBody('x', 7).launchconfig;
  assert.equal((await c.updateLaunchConfig('lc1', { launchconfig: noName })).targets.target[0].connectionCapacity, 7);

  await rejectsWith(c.updateLaunchConfig('lc1', lcBody('other')), 400, /name/);
  await rejectsWith(c.updateLaunchConfig('ghost', lcBody('ghost')), 404, /ghost/);

  await c.createScalePolicy(spBody('sp1', 10));
  assert.equal((await c.updateScalePolicy('sp1', spBody('sp1', '20'))).targets.target![0].maxLimit, 20);
  assert.equal(c.scalePolicy('sp1')!.targets.target![0].maxLimit, 20);
  await rejectsWith(c.updateScalePolicy('sp1', spBody('sp2')), 400, /name/);
  await rejectsWith(c.updateScalePolicy('ghost', spBody('ghost')), 404);
});

test('delete: returns the document, removes it everywhere; unknown 404; in use by a group 409', async (t) => {
  const store = memStore(t);
  const c = await createCatalog({ store, log });
  await c.createLaunchConfig(lcBody('lc1'));
  await c.createLaunchConfig(lcBody('lc2'));
  await c.createScalePolicy(spBody('sp1'));
  await c.createScalePolicy(spBody('sp2'));
  await store.createGroup(group('grp1', 'lc1', 'sp1'));

  await rejectsWith(c.deleteLaunchConfig('lc1'), 409, /grp1/);
  await rejectsWith(c.deleteScalePolicy('sp1'), 409, /grp1/);
  assert.ok(c.launchConfig('lc1'));
  assert.ok(await store.getScalePolicy('sp1'));

  const gone = await c.deleteLaunchConfig('lc2');
  assert.equal(gone.name, 'lc2');
  assert.equal(c.launchConfig('lc2'), null);
  assert.equal(await store.getLaunchConfig('lc2'), null);
  assert.equal((await c.deleteScalePolicy('sp2')).name, 'sp2');
  assert.equal(c.scalePolicy('sp2'), null);

  await rejectsWith(c.deleteLaunchConfig('lc2'), 404);
  await rejectsWith(c.deleteScalePolicy('nope'), 404);

  // once the group is gone the documents can go too
  await store.deleteGroup('grp1');
  await c.deleteLaunchConfig('lc1');
  await c.deleteScalePolicy('sp1');
  assert.deepEqual(c.launchConfigNames(), []);
});

test('copy: new name, same content; 404 unknown source, 409 taken name, 400 bad new name', async (t) => {
  const store = memStore(t);
  const c = await createCatalog({ store, log });
  await c.createLaunchConfig(lcBody('lc1', 123));
  const copy = await c.copyLaunchConfig('lc1', 'lc1-copy');
  assert.deepEqual(copy, { ...c.launchConfig('lc1')!, name: 'lc1-copy' });
  assert.deepEqual(await store.getLaunchConfig('lc1-copy'), copy);
  assert.deepEqual(c.launchConfigNames(), ['lc1', 'lc1-copy']);
  await rejectsWith(c.copyLaunchConfig('ghost', 'x'), 404);
  await rejectsWith(c.copyLaunchConfig('lc1', 'lc1-copy'), 409, /lc1-copy already exists/);
  await rejectsWith(c.copyLaunchConfig('lc1', 'bad name'), 400, /newName/);

  await c.createScalePolicy(spBody('sp1', 4));
  const sc = await c.copyScalePolicy('sp1', 'sp1-copy');
  assert.deepEqual(sc, { ...c.scalePolicy('sp1')!, name: 'sp1-copy' });
  await rejectsWith(c.copyScalePolicy('ghost', 'y'), 404);
  await rejectsWith(c.copyScalePolicy('sp1', 'sp1-copy'), 409);
});

test('thresholds: default 60 per role, set 1..100, ids stable per role', async (t) => {
  const store = memStore(t);
  const c = await createCatalog({ store, log });
  assert.equal(DEFAULT_THRESHOLD, 60);
  for (const r of ['origin', 'edge', 'relay', 'transcoder'] as const) assert.equal(c.threshold(r), 60);
  assert.deepEqual(c.alarm('edge'), { id: 1, role: 'edge', threshold: 60 });
  assert.deepEqual(await c.setThreshold('edge', 80), { id: 1, role: 'edge', threshold: 80 });
  assert.equal(c.threshold('edge'), 80);
  assert.equal(c.threshold('origin'), 60);
  assert.deepEqual(await store.listAlarms(), [{ role: 'edge', threshold: 80 }]);
  assert.equal(c.alarm('origin').id, 2);
  for (const bad of [0, 101, 50.5, Number.NaN]) await rejectsWith(c.setThreshold('edge', bad), 400, /threshold/);
  await rejectsWith(c.setThreshold('mixer' as never, 50), 400, /type/);
  assert.equal(c.threshold('edge'), 80);
});

test('a store failure leaves the cache untouched', async (t) => {
  const store = memStore(t);
  const ok = await createCatalog({ store, log });
  await ok.createLaunchConfig(lcBody('lc1', 500));
  await ok.createScalePolicy(spBody('sp1', 10));
  await ok.setThreshold('edge', 70);

  const broken = failing(store, [
    'createLaunchConfig',
    'updateLaunchConfig',
    'deleteLaunchConfig',
    'createScalePolicy',
    'updateScalePolicy',
    'deleteScalePolicy',
    'setAlarm',
    'listAlarms',
  ]);
  const cat = await createCatalogWith(store, broken);

  await assert.rejects(cat.createLaunchConfig(lcBody('lc2')), StoreUnavailableError);
  await assert.rejects(cat.updateLaunchConfig('lc1', lcBody('lc1', 900)), StoreUnavailableError);
  await assert.rejects(cat.deleteLaunchConfig('lc1'), StoreUnavailableError);
  await assert.rejects(cat.createScalePolicy(spBody('sp2')), StoreUnavailableError);
  await assert.rejects(cat.updateScalePolicy('sp1', spBody('sp1', 3)), StoreUnavailableError);
  await assert.rejects(cat.setThreshold('edge', 90), StoreUnavailableError);
  assert.deepEqual(cat.launchConfigNames(), ['lc1']);
  assert.equal(cat.launchConfig('lc1')!.targets.target[0].connectionCapacity, 500);
  assert.equal(cat.scalePolicy('sp1')!.targets.target![0].maxLimit, 10);
  assert.deepEqual(cat.scalePolicyNames(), ['sp1']);
  assert.equal(cat.threshold('edge'), 70);
  // a failed reload keeps serving the previous view
  await assert.rejects(cat.reload(), StoreUnavailableError);
  assert.deepEqual(cat.launchConfigNames(), ['lc1']);
  assert.equal(cat.threshold('edge'), 70);
});

/** A catalog loaded from `loadFrom`, whose later calls go to `then` (a store that breaks after boot). */
async function createCatalogWith(loadFrom: ClusterStore, then: ClusterStore) {
  let current = loadFrom;
  const switching = new Proxy(loadFrom, {
    get(_t, key) {
      const v = Reflect.get(current, key);
      return typeof v === 'function' ? v.bind(current) : v;
    },
  });
  const cat = await createCatalog({ store: switching, log });
  current = then;
  return cat;
}

test('reload picks up what another manager instance wrote', async (t) => {
  const store = memStore(t);
  const mine = await createCatalog({ store, log });
  const other = await createCatalog({ store, log });
  await mine.createLaunchConfig(lcBody('lc1', 100));

  await other.createLaunchConfig(lcBody('lc-other'));
  await other.updateLaunchConfig('lc1', lcBody('lc1', 300));
  await other.createScalePolicy(spBody('sp-other'));
  await other.setThreshold('origin', 42);

  // not visible before reload: reads are from the cache
  assert.equal(mine.launchConfig('lc-other'), null);
  assert.equal(mine.launchConfig('lc1')!.targets.target[0].connectionCapacity, 100);
  await mine.reload();
  assert.deepEqual(mine.launchConfigNames(), ['lc-other', 'lc1']);
  assert.equal(mine.launchConfig('lc1')!.targets.target[0].connectionCapacity, 300);
  assert.deepEqual(mine.scalePolicyNames(), ['sp-other']);
  assert.equal(mine.threshold('origin'), 42);

  await other.deleteLaunchConfig('lc-other');
  await mine.reload();
  assert.equal(mine.launchConfig('lc-other'), null);
});

test('a write by another instance is not lost: delete of a document it already removed is 404 and evicts it', async (t) => {
  const store = memStore(t);
  const mine = await createCatalog({ store, log });
  const other = await createCatalog({ store, log });
  await mine.createLaunchConfig(lcBody('lc1'));
  await other.reload();
  await other.deleteLaunchConfig('lc1');
  await rejectsWith(mine.deleteLaunchConfig('lc1'), 404);
  assert.equal(mine.launchConfig('lc1'), null);
});

test('importDirectories: imports absent names, skips invalid files with an error naming them, keeps going', async (t) => {
  const dir = tempDir(t);
  const lcDir = join(dir, 'launchconfigs');
  const spDir = join(dir, 'scalingpolicies');
  mkdirSync(lcDir);
  mkdirSync(spDir);
  writeFileSync(join(lcDir, 'a-good.json'), JSON.stringify(lcBody('good-lc')));
  writeFileSync(join(lcDir, 'b-broken.json'), '{"launchconfig": {"name": ');
  writeFileSync(join(lcDir, 'c-invalid.json'), JSON.stringify(lcBody('invalid-lc', 0)));
  writeFileSync(join(lcDir, 'd-existing.json'), JSON.stringify(lcBody('existing-lc', 999)));
  const { name: _n, ...noName } = lcBody('x').launchconfig;
  writeFileSync(join(lcDir, 'nameless.json'), JSON.stringify({ launchconfig: noName }));
  writeFileSync(join(lcDir, 'notes.txt'), 'not json, not imported');
  writeFileSync(join(spDir, 'sp.json'), JSON.stringify(spBody('good-sp')));
  writeFileSync(join(spDir, 'bad-sp.json'), JSON.stringify(spBody('bad-sp', 'lots')));

  const store = memStore(t);
  await store.createLaunchConfig(parseLaunchConfig(lcBody('existing-lc', 1)));

  const lines: string[] = [];
  const capture = createLogger('info', { write: (s: string) => void lines.push(s) });
  const c = await createCatalog({ store, log: capture });
  const result = await c.importDirectories(lcDir, spDir);

  assert.deepEqual(result, { launchConfigs: ['good-lc', 'nameless'], scalePolicies: ['good-sp'] });
  assert.deepEqual(c.launchConfigNames(), ['existing-lc', 'good-lc', 'nameless']);
  assert.deepEqual((await store.listLaunchConfigs()).map((d) => d.name).sort(), ['existing-lc', 'good-lc', 'nameless']);
  // a name already in the store is never overwritten by its file
  assert.equal((await store.getLaunchConfig('existing-lc'))!.targets.target[0].connectionCapacity, 1);
  assert.ok(c.scalePolicy('good-sp'));

  const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 50);
  const named = (f: string) => errors.find((e) => String(e.file).endsWith(f) && String(e.msg).includes(f));
  assert.ok(named('b-broken.json'), 'broken JSON file reported');
  assert.match(named('c-invalid.json')!.msg, /connectionCapacity/);
  assert.match(named('bad-sp.json')!.msg, /maxLimit/);
  assert.equal(errors.length, 3);

  // a second boot imports nothing more
  assert.deepEqual(await c.importDirectories(lcDir, spDir), { launchConfigs: [], scalePolicies: [] });
});

test('importDirectories: missing directories are not an error', async (t) => {
  const c = await createCatalog({ store: memStore(t), log });
  assert.deepEqual(await c.importDirectories('/nonexistent/lc', '/nonexistent/sp'), { launchConfigs: [], scalePolicies: [] });
});

test('importDirectories: the shipped launchconfigs/ and scalingpolicies/ import cleanly', async (t) => {
  const c = await createCatalog({ store: memStore(t), log });
  const root = new URL('../../', import.meta.url).pathname;
  const r = await c.importDirectories(join(root, 'launchconfigs'), join(root, 'scalingpolicies'));
  assert.deepEqual(r.launchConfigs, ['simulated-cloud-default-v2', 'simulated-cloud-default-v3']);
  assert.deepEqual(r.scalePolicies, ['simulated-cloud-default-v2', 'simulated-cloud-default-v3']);
  const sp = c.scalePolicy('simulated-cloud-default-v2')!;
  assert.deepEqual(
    sp.targets.target!.map((x) => [x.role, x.minLimit, x.maxLimit, x.coolDownPeriod, x.estimatedWarmUpTime]),
    [
      ['edge', 2, 10, 180000, 120000],
      ['origin', 1, 2, 180000, 120000],
    ],
  );
});

test('restart keeps everything: reopen a SQLite file', async (t) => {
  const file = join(tempDir(t), 'cluster.sqlite');
  const s1 = openSqliteStore(file);
  const c1 = await createCatalog({ store: s1, log });
  await c1.createLaunchConfig(lcBody('lc1', 321));
  await c1.createScalePolicy({
    policy: { name: 'sp3', targets: { region: [{ name: 'default', target: [{ role: 'edge', minLimit: 1.0, maxLimit: 5 }] }] } },
  });
  await c1.setThreshold('relay', 33);
  await s1.close();

  const s2 = openSqliteStore(file);
  t.after(() => s2.close());
  const c2 = await createCatalog({ store: s2, log });
  assert.equal(c2.launchConfig('lc1')!.targets.target[0].connectionCapacity, 321);
  assert.equal(c2.scalePolicy('sp3')!.targets.region![0].target[0].maxLimit, 5);
  assert.equal(c2.scalePolicy('sp3')!.version, '0.0.3');
  assert.equal(c2.threshold('relay'), 33);
});
