import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type {
  ClusterNode,
  LaunchConfig,
  LaunchIntent,
  NodeGroup,
  NodeStream,
  Relation,
  ScaleEvent,
  ScalePolicy,
  StreamProvision,
} from '../../src/domain/types.ts';
import { type ClusterStore, StoreConflictError, StoreUnavailableError } from '../../src/store/cluster-store.ts';

export interface StoreUnderTest {
  store: ClusterStore;
  /** Closes the current store (a restart) and opens the same data again. */
  reopen?: () => Promise<ClusterStore>;
  /** Closes whatever is open (possibly already closed) and removes the data. */
  cleanup: () => Promise<void>;
}

// Timestamps beyond 2^32 prove the columns are 64-bit.
const T = 1_700_000_000_123;

const launchConfig = (name: string, extra: Partial<LaunchConfig> = {}): LaunchConfig => ({
  name,
  description: 'Ünïcode ✓ "quoted" \\ and emoji 🚀',
  image: 'managed',
  version: '0.0.3',
  targets: {
    target: [
      { role: 'origin', instanceType: 'small', connectionCapacity: 30 },
      { role: 'edge', instanceType: 'small', connectionCapacity: 300, image: 'edge-image' },
    ],
  },
  properties: { property: [{ name: 'UserData', value: 'base64:IyEvYmluL3NoCg==' }] },
  metadata: { meta: [{ key: 'Name', value: 'grp-node' }, { key: 'empty', value: '' }] },
  ...extra,
});

const flatPolicy = (name: string): ScalePolicy => ({
  name,
  description: 'flat 0.0.2',
  type: 'com.red5pro.services.autoscaling.model.ScalePolicyMaster',
  version: '0.0.2',
  targets: { target: [{ role: 'edge', minLimit: 1, maxLimit: 10, scaleAdjustment: 1, coolDownPeriod: 180000 }] },
});

const regionPolicy = (name: string): ScalePolicy => ({
  name,
  description: 'regions 0.0.3',
  type: 'com.red5pro.services.autoscaling.model.ScalePolicyMaster',
  version: '0.0.3',
  targets: {
    region: [
      { name: 'default', target: [{ role: 'origin', minLimit: 1, maxLimit: 1 }, { role: 'edge', minLimit: 2, maxLimit: 5 }] },
      { name: 'us-test1', target: [] },
    ],
  },
});

const group = (name: string, extra: Partial<NodeGroup> = {}): Omit<NodeGroup, 'id'> => ({
  name,
  regions: ['us-test1', 'eu-west-1'],
  launchConfig: 'lc1',
  scalePolicy: 'sp1',
  state: 'new',
  baseCapacity: 0,
  timestamp: T,
  ...extra,
});

const node = (address: string, extra: Partial<ClusterNode> = {}): ClusterNode => ({
  id: 0,
  identifier: `node-us-test1-a-${address}`,
  group: 'g1',
  role: 'origin',
  region: 'us-test1',
  availabilityZone: 'us-test1-a',
  address,
  port: 5080,
  state: 'pending',
  launchConfig: 'lc1',
  instanceType: 'small',
  capacity: 500,
  launchTime: T,
  lastReport: null,
  lastTrafficTime: T,
  reportingSpeed: 10000,
  connections: { publishers: 0, subscribers: 0 },
  cpu: null,
  memory: null,
  drainStartedAt: null,
  stateReason: null,
  stateUpdated: T,
  ...extra,
});

const stream = (address: string, name: string, extra: Partial<NodeStream> = {}): NodeStream => ({
  address,
  scope: 'live',
  name,
  publishers: 1,
  subscribers: 3,
  startTime: T,
  ...extra,
});

const relation = (parent: string, child: string, extra: Partial<Relation> = {}): Relation => ({
  group: 'g1',
  parent,
  child,
  state: 'prospective',
  stateUpdated: T,
  ...extra,
});

const provision = (scope: string, name: string, extra: Partial<StreamProvision> = {}): StreamProvision => ({
  scope,
  name,
  meta: {
    stream: [{ name: `${name}_1`, level: 1, properties: { videoBR: 1000000, videoWidth: 1280 } }],
    georules: { regions: ['US', 'EU'], restricted: false },
    label: 'Ünïcode ✓',
    none: null,
  },
  updated: T,
  ...extra,
});

const event = (groupName: string, i: number, extra: Partial<ScaleEvent> = {}): ScaleEvent => ({
  group: groupName,
  at: T + i,
  kind: 'launch',
  role: 'edge',
  node: `10.0.0.${i}`,
  reason: `event ${i}`,
  data: { load: 72.5, threshold: 60, counts: [1, 2, { pending: 1 }] },
  ...extra,
});

/** Exact JSON equality: same values and the same key order. */
const sameJson = (actual: unknown, expected: unknown) => assert.equal(JSON.stringify(actual), JSON.stringify(expected));
/** Code-point order (not locale order, which ignores punctuation such as '/' and '|'). */
const byKey = <X>(key: (x: X) => string) => (a: X, b: X) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
const streamKey = (s: NodeStream) => `${s.address}|${s.scope}|${s.name}`;
const sortStreams = (xs: NodeStream[]) => [...xs].sort(byKey(streamKey));

/**
 * Every rule of the ClusterStore interface (src/store/cluster-store.ts). `make` is called before each
 * test and must give an empty store.
 */
export function defineClusterStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`ClusterStore contract: ${name}`, () => {
    let ctx: StoreUnderTest;
    let store: ClusterStore;
    beforeEach(async () => {
      ctx = await make();
      store = ctx.store;
    });
    afterEach(async () => {
      await ctx.cleanup();
    });

    it('reports its kind and answers ping', async () => {
      assert.ok(store.kind === 'sqlite' || store.kind === 'mysql');
      await store.ping();
    });

    describe('launch configurations', () => {
      it('round-trips the document exactly (nested arrays, key order, unicode)', async () => {
        const doc = launchConfig('lc1');
        await store.createLaunchConfig(doc);
        const got = await store.getLaunchConfig('lc1');
        assert.deepEqual(got, doc);
        sameJson(got, doc);
      });

      it('keeps documents larger than 64 KB', async () => {
        const property = Array.from({ length: 2000 }, (_, i) => ({ name: `p${i}`, value: 'x'.repeat(40) }));
        const doc = launchConfig('big', { properties: { property } });
        assert.ok(JSON.stringify(doc).length > 70_000);
        await store.createLaunchConfig(doc);
        sameJson(await store.getLaunchConfig('big'), doc);
      });

      it('lists every configuration', async () => {
        await store.createLaunchConfig(launchConfig('b'));
        await store.createLaunchConfig(launchConfig('a'));
        const names = (await store.listLaunchConfigs()).map((d) => d.name).sort();
        assert.deepEqual(names, ['a', 'b']);
      });

      it('rejects a duplicate name with StoreConflictError and keeps the original', async () => {
        await store.createLaunchConfig(launchConfig('lc1'));
        await assert.rejects(store.createLaunchConfig(launchConfig('lc1', { description: 'other' })), StoreConflictError);
        assert.equal((await store.getLaunchConfig('lc1'))?.description, launchConfig('lc1').description);
        assert.equal((await store.listLaunchConfigs()).length, 1);
      });

      it('treats names as case-sensitive', async () => {
        await store.createLaunchConfig(launchConfig('lc1'));
        await store.createLaunchConfig(launchConfig('LC1', { description: 'upper' }));
        assert.equal((await store.getLaunchConfig('LC1'))?.description, 'upper');
        assert.equal((await store.listLaunchConfigs()).length, 2);
      });

      it('updates an existing document (also with identical content) and reports a missing one', async () => {
        await store.createLaunchConfig(launchConfig('lc1'));
        const changed = launchConfig('lc1', { description: 'changed', version: '0.0.2' });
        assert.equal(await store.updateLaunchConfig(changed), true);
        sameJson(await store.getLaunchConfig('lc1'), changed);
        assert.equal(await store.updateLaunchConfig(changed), true);
        assert.equal(await store.updateLaunchConfig(launchConfig('nope')), false);
        assert.equal(await store.getLaunchConfig('nope'), null);
      });

      it('deletes, then reports not found', async () => {
        await store.createLaunchConfig(launchConfig('lc1'));
        assert.equal(await store.deleteLaunchConfig('lc1'), true);
        assert.equal(await store.getLaunchConfig('lc1'), null);
        assert.deepEqual(await store.listLaunchConfigs(), []);
        assert.equal(await store.deleteLaunchConfig('lc1'), false);
      });

      it('returns fresh copies', async () => {
        await store.createLaunchConfig(launchConfig('lc1'));
        const got = (await store.getLaunchConfig('lc1'))!;
        got.targets.target.pop();
        got.description = 'mutated';
        assert.deepEqual(await store.getLaunchConfig('lc1'), launchConfig('lc1'));
      });
    });

    describe('scale policies', () => {
      it('round-trips flat (0.0.2) and region (0.0.3) documents exactly', async () => {
        await store.createScalePolicy(flatPolicy('flat'));
        await store.createScalePolicy(regionPolicy('regional'));
        sameJson(await store.getScalePolicy('flat'), flatPolicy('flat'));
        sameJson(await store.getScalePolicy('regional'), regionPolicy('regional'));
        assert.deepEqual((await store.listScalePolicies()).map((p) => p.name).sort(), ['flat', 'regional']);
      });

      it('rejects a duplicate name with StoreConflictError', async () => {
        await store.createScalePolicy(flatPolicy('sp1'));
        await assert.rejects(store.createScalePolicy(regionPolicy('sp1')), StoreConflictError);
        sameJson(await store.getScalePolicy('sp1'), flatPolicy('sp1'));
      });

      it('updates, deletes and reports missing ones', async () => {
        await store.createScalePolicy(flatPolicy('sp1'));
        assert.equal(await store.updateScalePolicy(regionPolicy('sp1')), true);
        sameJson(await store.getScalePolicy('sp1'), regionPolicy('sp1'));
        assert.equal(await store.updateScalePolicy(flatPolicy('nope')), false);
        assert.equal(await store.getScalePolicy('nope'), null);
        assert.equal(await store.deleteScalePolicy('sp1'), true);
        assert.equal(await store.getScalePolicy('sp1'), null);
        assert.equal(await store.deleteScalePolicy('sp1'), false);
        assert.deepEqual(await store.listScalePolicies(), []);
      });
    });

    describe('alarms', () => {
      it('starts empty, keeps one alarm per role and overwrites it', async () => {
        assert.deepEqual(await store.listAlarms(), []);
        await store.setAlarm({ role: 'origin', threshold: 60 });
        await store.setAlarm({ role: 'edge', threshold: 72.5 });
        await store.setAlarm({ role: 'origin', threshold: 80 });
        const alarms = (await store.listAlarms()).sort(byKey((a) => a.role));
        assert.deepEqual(alarms, [
          { role: 'edge', threshold: 72.5 },
          { role: 'origin', threshold: 80 },
        ]);
      });
    });

    describe('node groups', () => {
      it('assigns an id and round-trips every field, regions included', async () => {
        const created = await store.createGroup(group('g1', { baseCapacity: 250, state: 'active' }));
        assert.ok(Number.isInteger(created.id) && created.id > 0);
        assert.deepEqual(created, { ...group('g1', { baseCapacity: 250, state: 'active' }), id: created.id });
        assert.deepEqual(await store.getGroup('g1'), created);
      });

      it('round-trips an empty and a single region list', async () => {
        await store.createGroup(group('none', { regions: [] }));
        await store.createGroup(group('one', { regions: ['us-test1'] }));
        assert.deepEqual((await store.getGroup('none'))?.regions, []);
        assert.deepEqual((await store.getGroup('one'))?.regions, ['us-test1']);
      });

      it('gives distinct ids and lists every group', async () => {
        const a = await store.createGroup(group('a'));
        const b = await store.createGroup(group('b'));
        assert.notEqual(a.id, b.id);
        assert.deepEqual((await store.listGroups()).sort(byKey((g) => g.name)), [a, b]);
      });

      it('rejects a duplicate name with StoreConflictError', async () => {
        await store.createGroup(group('g1'));
        await assert.rejects(store.createGroup(group('g1', { launchConfig: 'other' })), StoreConflictError);
        assert.equal((await store.getGroup('g1'))?.launchConfig, 'lc1');
        assert.equal((await store.listGroups()).length, 1);
      });

      it('sets the state (also to the same state) and reports a missing group', async () => {
        await store.createGroup(group('g1'));
        assert.equal(await store.setGroupState('g1', 'active'), true);
        assert.equal((await store.getGroup('g1'))?.state, 'active');
        assert.equal(await store.setGroupState('g1', 'active'), true);
        assert.equal(await store.setGroupState('nope', 'active'), false);
        assert.equal(await store.getGroup('nope'), null);
      });

      it('returns fresh copies', async () => {
        await store.createGroup(group('g1'));
        const got = (await store.getGroup('g1'))!;
        got.regions.push('mutated');
        (await store.listGroups())[0].regions.length = 0;
        assert.deepEqual((await store.getGroup('g1'))?.regions, ['us-test1', 'eu-west-1']);
      });

      it('deletes the group with its nodes, relations, streams and scale events, and nothing else', async () => {
        await store.createGroup(group('g1'));
        const g2 = await store.createGroup(group('g2'));
        await store.saveNode(node('a', { group: 'g1' }));
        await store.saveNode(node('b', { group: 'g1', role: 'edge' }));
        const c = await store.saveNode(node('c', { group: 'g2' }));
        await store.saveRelation(relation('a', 'b', { group: 'g1' }));
        await store.saveRelation(relation('c', 'd', { group: 'g2' }));
        await store.upsertStream(stream('a', 's1'));
        await store.upsertStream(stream('b', 's1'));
        await store.upsertStream(stream('c', 's2'));
        await store.addScaleEvent(event('g1', 1));
        await store.addScaleEvent(event('g1', 2));
        await store.addScaleEvent(event('g2', 3));

        assert.equal(await store.deleteGroup('g1'), true);
        assert.equal(await store.getGroup('g1'), null);
        assert.deepEqual(await store.listGroups(), [g2]);
        assert.deepEqual(await store.listNodes(), [c]);
        assert.deepEqual(await store.listNodes('g1'), []);
        assert.deepEqual(await store.listRelations(), [relation('c', 'd', { group: 'g2' })]);
        assert.deepEqual(await store.listStreams(), [stream('c', 's2')]);
        assert.equal(await store.countScaleEvents('g1'), 0);
        assert.equal(await store.countScaleEvents('g2'), 1);
        assert.equal(await store.deleteGroup('g1'), false);
      });

      it('keeps autoscaling controls per group, replaces them whole and deletes them with the group', async () => {
        await store.createGroup(group('g1'));
        await store.createGroup(group('g2'));
        const sched = { id: 'ab12cd34', role: 'edge' as const, minLimit: 10, cron: '0 18 * * 5', durationMs: 18_000_000, label: 'Friday ✓' };
        await store.saveGroupSettings('g1', { paused: true, replaceDead: false, schedules: [] }, T);
        await store.saveGroupSettings('g2', { paused: false, replaceDead: true, schedules: [sched] }, T);
        await store.saveGroupSettings('g1', { paused: false, replaceDead: true, schedules: [sched] }, T + 1);
        assert.deepEqual(await store.listGroupSettings(), [
          { group: 'g1', settings: { paused: false, replaceDead: true, schedules: [sched] } },
          { group: 'g2', settings: { paused: false, replaceDead: true, schedules: [sched] } },
        ]);
        await store.deleteGroup('g1');
        assert.deepEqual((await store.listGroupSettings()).map((r) => r.group), ['g2']);
      });
    });

    describe('nodes', () => {
      it('assigns an id on insert and round-trips every field, null ones included', async () => {
        const input = node('10.0.0.1');
        const saved = await store.saveNode(input);
        assert.ok(Number.isInteger(saved.id) && saved.id > 0);
        assert.deepEqual(saved, { ...input, id: saved.id });
        const got = await store.getNode('10.0.0.1');
        assert.deepEqual(got, saved);
        assert.equal(got?.lastReport, null);
        assert.equal(got?.cpu, null);
      });

      it('round-trips set optional fields, fractions and 64-bit timestamps', async () => {
        const full = node('10.0.0.2', {
          state: 'draining',
          lastReport: T + 5,
          cpu: 0.35,
          memory: 0.5,
          drainStartedAt: T + 6,
          stateReason: 'scale-in: load 12.5 < 30',
          connections: { publishers: 3, subscribers: 1200 },
          port: 8443,
          capacity: 2000,
        });
        const saved = await store.saveNode(full);
        assert.deepEqual(await store.getNode('10.0.0.2'), { ...full, id: saved.id });
      });

      it('replaces the whole row of a saved address and keeps its id', async () => {
        const first = await store.saveNode(node('10.0.0.1'));
        const again = await store.saveNode(node('10.0.0.1'));
        assert.equal(again.id, first.id);
        const replacement = node('10.0.0.1', {
          id: 0,
          group: 'g2',
          role: 'edge',
          state: 'inservice',
          identifier: 'node-2',
          lastReport: T + 1,
          cpu: 0.1,
          stateReason: 'r',
        });
        const replaced = await store.saveNode(replacement);
        assert.equal(replaced.id, first.id);
        assert.deepEqual(await store.getNode('10.0.0.1'), { ...replacement, id: first.id });
        assert.equal((await store.listNodes()).length, 1);
      });

      it('lists all nodes or one group, distinct ids', async () => {
        const a = await store.saveNode(node('a', { group: 'g1' }));
        const b = await store.saveNode(node('b', { group: 'g2' }));
        const c = await store.saveNode(node('c', { group: 'g1' }));
        assert.equal(new Set([a.id, b.id, c.id]).size, 3);
        assert.deepEqual((await store.listNodes()).sort(byKey((n) => n.address)), [a, b, c]);
        assert.deepEqual((await store.listNodes('g1')).sort(byKey((n) => n.address)), [a, c]);
        assert.deepEqual(await store.listNodes('nope'), []);
        assert.equal(await store.getNode('nope'), null);
      });

      it('returns fresh copies', async () => {
        await store.saveNode(node('a'));
        const got = (await store.getNode('a'))!;
        got.connections.subscribers = 99;
        got.state = 'terminated';
        const got2 = (await store.getNode('a'))!;
        assert.equal(got2.connections.subscribers, 0);
        assert.equal(got2.state, 'pending');
      });

      it('saveNodeReport writes only the report columns and leaves state and identity alone', async () => {
        const saved = await store.saveNode(node('a', { state: 'inservice' }));
        assert.equal(
          await store.transitionNode('a', ['inservice'], 'draining', {
            stateReason: 'scale-in',
            stateUpdated: T + 5,
            drainStartedAt: T + 5,
          }),
          true,
        );
        const report: ClusterNode = {
          ...saved,
          // stale view of the reporting manager: must not be written
          state: 'inservice',
          stateReason: null,
          stateUpdated: 1,
          drainStartedAt: null,
          identifier: 'other',
          group: 'other',
          role: 'edge',
          region: 'other',
          availabilityZone: 'other',
          launchConfig: 'other',
          instanceType: 'other',
          launchTime: 1,
          // report columns: must be written
          lastReport: T + 10,
          lastTrafficTime: T + 9,
          reportingSpeed: 5000,
          connections: { publishers: 2, subscribers: 40 },
          cpu: 0.25,
          memory: 0.75,
          capacity: 700,
          port: 8081,
        };
        await store.saveNodeReport(report);
        assert.deepEqual(await store.getNode('a'), {
          ...saved,
          state: 'draining',
          stateReason: 'scale-in',
          stateUpdated: T + 5,
          drainStartedAt: T + 5,
          lastReport: T + 10,
          lastTrafficTime: T + 9,
          reportingSpeed: 5000,
          connections: { publishers: 2, subscribers: 40 },
          cpu: 0.25,
          memory: 0.75,
          capacity: 700,
          port: 8081,
        });
      });

      it('saveNodeReport of an unknown address creates nothing', async () => {
        await store.saveNodeReport(node('ghost', { lastReport: T }));
        assert.equal(await store.getNode('ghost'), null);
        assert.deepEqual(await store.listNodes(), []);
      });

      it('saveNodeReport can clear cpu and memory back to null', async () => {
        const saved = await store.saveNode(node('a', { cpu: 0.5, memory: 0.5 }));
        await store.saveNodeReport({ ...saved, cpu: null, memory: null, lastReport: T + 1 });
        const got = await store.getNode('a');
        assert.equal(got?.cpu, null);
        assert.equal(got?.memory, null);
        assert.equal(got?.lastReport, T + 1);
      });

      it('transitionNode changes state only from an allowed state', async () => {
        const saved = await store.saveNode(node('a', { state: 'inservice' }));
        const other = await store.saveNode(node('b', { state: 'inservice' }));
        const fields = { stateReason: 'scale-in', stateUpdated: T + 7, drainStartedAt: T + 7 };

        assert.equal(await store.transitionNode('a', ['pending', 'draining'], 'terminating', fields), false);
        assert.deepEqual(await store.getNode('a'), saved);

        assert.equal(await store.transitionNode('a', ['pending', 'inservice'], 'draining', fields), true);
        assert.deepEqual(await store.getNode('a'), { ...saved, state: 'draining', ...fields });

        // from a state it has left: refused
        assert.equal(
          await store.transitionNode('a', ['inservice'], 'terminated', { stateReason: 'x', stateUpdated: 1, drainStartedAt: null }),
          false,
        );
        assert.equal((await store.getNode('a'))?.state, 'draining');

        // clears drainStartedAt and reason when asked
        assert.equal(
          await store.transitionNode('a', ['draining'], 'inservice', { stateReason: null, stateUpdated: T + 8, drainStartedAt: null }),
          true,
        );
        assert.deepEqual(await store.getNode('a'), { ...saved, state: 'inservice', stateReason: null, stateUpdated: T + 8 });
        assert.deepEqual(await store.getNode('b'), other);
      });

      it('transitionNode reports an unknown node or an empty from-list as false', async () => {
        await store.saveNode(node('a', { state: 'inservice' }));
        const fields = { stateReason: null, stateUpdated: T, drainStartedAt: null };
        assert.equal(await store.transitionNode('nope', ['inservice'], 'draining', fields), false);
        assert.equal(await store.transitionNode('a', [], 'draining', fields), false);
        assert.equal((await store.getNode('a'))?.state, 'inservice');
      });

      it('deleteNode removes the node with its relations (both ends) and streams, nothing else', async () => {
        await store.saveNode(node('a'));
        const b = await store.saveNode(node('b', { role: 'edge' }));
        await store.saveRelation(relation('a', 'b'));
        await store.saveRelation(relation('c', 'a'));
        await store.saveRelation(relation('c', 'd'));
        await store.upsertStream(stream('a', 's1'));
        await store.upsertStream(stream('a', 's2'));
        await store.upsertStream(stream('b', 's1'));

        assert.equal(await store.deleteNode('a'), true);
        assert.equal(await store.getNode('a'), null);
        assert.deepEqual(await store.listNodes(), [b]);
        assert.deepEqual(await store.listRelations(), [relation('c', 'd')]);
        assert.deepEqual(await store.listStreams(), [stream('b', 's1')]);
        assert.equal(await store.deleteNode('a'), false);
      });
    });

    describe('streams', () => {
      it('upserts by (address, scope, name) and lists them', async () => {
        await store.upsertStream(stream('a', 's1'));
        await store.upsertStream(stream('a', 's1', { scope: 'live/room1' }));
        await store.upsertStream(stream('b', 's1'));
        await store.upsertStream(stream('a', 's1', { publishers: 0, subscribers: 42, startTime: T + 1 }));
        assert.deepEqual(
          sortStreams(await store.listStreams()),
          sortStreams([
            stream('a', 's1', { publishers: 0, subscribers: 42, startTime: T + 1 }),
            stream('a', 's1', { scope: 'live/room1' }),
            stream('b', 's1'),
          ]),
        );
      });

      it("replaceNodeStreams replaces that node's list as a whole and no other", async () => {
        await store.upsertStream(stream('a', 'old1'));
        await store.upsertStream(stream('a', 'kept', { subscribers: 1 }));
        await store.upsertStream(stream('b', 'other'));
        await store.replaceNodeStreams('a', [stream('a', 'kept', { subscribers: 7 }), stream('a', 'new1')]);
        assert.deepEqual(sortStreams(await store.listStreams()), [
          stream('a', 'kept', { subscribers: 7 }),
          stream('a', 'new1'),
          stream('b', 'other'),
        ]);
        await store.replaceNodeStreams('a', []);
        assert.deepEqual(await store.listStreams(), [stream('b', 'other')]);
      });

      it('replaceNodeStreams handles a large list', async () => {
        const many = Array.from({ length: 500 }, (_, i) => stream('a', `s${i}`, { subscribers: i }));
        await store.replaceNodeStreams('a', many);
        assert.deepEqual(sortStreams(await store.listStreams()), sortStreams(many));
      });

      it('a failing replaceNodeStreams (duplicate key in the list) rejects and keeps the old rows', async () => {
        await store.upsertStream(stream('a', 'old1'));
        await store.upsertStream(stream('a', 'old2'));
        await assert.rejects(
          store.replaceNodeStreams('a', [stream('a', 'new1'), stream('a', 'dup'), stream('a', 'dup')]),
          StoreConflictError,
        );
        assert.deepEqual(sortStreams(await store.listStreams()), [stream('a', 'old1'), stream('a', 'old2')]);
      });

      it('deleteStream removes one stream and reports a missing one', async () => {
        await store.upsertStream(stream('a', 's1'));
        await store.upsertStream(stream('a', 's2'));
        assert.equal(await store.deleteStream('a', 'live', 's1'), true);
        assert.equal(await store.deleteStream('a', 'live', 's1'), false);
        assert.equal(await store.deleteStream('a', 'other', 's2'), false);
        assert.deepEqual(await store.listStreams(), [stream('a', 's2')]);
      });

      it('purgeStreams deletes every row and returns the count', async () => {
        await store.upsertStream(stream('a', 's1'));
        await store.upsertStream(stream('b', 's1'));
        await store.upsertStream(stream('c', 's1'));
        assert.equal(await store.purgeStreams(), 3);
        assert.deepEqual(await store.listStreams(), []);
        assert.equal(await store.purgeStreams(), 0);
      });

      it('purgeStreams with a keep list spares those nodes; an empty keep list deletes all', async () => {
        await store.upsertStream(stream('a', 's1'));
        await store.upsertStream(stream('a', 's2'));
        await store.upsertStream(stream('b', 's1'));
        await store.upsertStream(stream('c', 's1'));
        await store.upsertStream(stream('d', 's1'));
        assert.equal(await store.purgeStreams(['a', 'c', 'unknown']), 2);
        assert.deepEqual(sortStreams(await store.listStreams()), [stream('a', 's1'), stream('a', 's2'), stream('c', 's1')]);
        assert.equal(await store.purgeStreams([]), 3);
        assert.deepEqual(await store.listStreams(), []);
      });
    });

    describe('relations', () => {
      it('saves by (parent, child), updating an existing link', async () => {
        await store.saveRelation(relation('o1', 'e1'));
        await store.saveRelation(relation('o1', 'e2'));
        await store.saveRelation(relation('o1', 'e1', { state: 'connecting', stateUpdated: T + 1, group: 'g2' }));
        const all = (await store.listRelations()).sort(byKey((r) => r.parent + r.child));
        assert.deepEqual(all, [relation('o1', 'e1', { state: 'connecting', stateUpdated: T + 1, group: 'g2' }), relation('o1', 'e2')]);
      });

      it('lists one group', async () => {
        await store.saveRelation(relation('o1', 'e1', { group: 'g1' }));
        await store.saveRelation(relation('o2', 'e2', { group: 'g2' }));
        assert.deepEqual(await store.listRelations('g2'), [relation('o2', 'e2', { group: 'g2' })]);
        assert.deepEqual(await store.listRelations('nope'), []);
      });

      it('sets the link state and reports a missing link', async () => {
        await store.saveRelation(relation('o1', 'e1'));
        assert.equal(await store.setRelationState('o1', 'e1', 'established', T + 3), true);
        assert.deepEqual(await store.listRelations(), [relation('o1', 'e1', { state: 'established', stateUpdated: T + 3 })]);
        assert.equal(await store.setRelationState('o1', 'e1', 'established', T + 3), true);
        assert.equal(await store.setRelationState('e1', 'o1', 'error', T), false);
        assert.equal((await store.listRelations()).length, 1);
      });

      it('deletes a link and reports a missing one', async () => {
        await store.saveRelation(relation('o1', 'e1'));
        await store.saveRelation(relation('o1', 'e2'));
        assert.equal(await store.deleteRelation('o1', 'e1'), true);
        assert.equal(await store.deleteRelation('o1', 'e1'), false);
        assert.deepEqual(await store.listRelations(), [relation('o1', 'e2')]);
      });
    });

    describe('stream provisions', () => {
      it('round-trips the meta document exactly', async () => {
        await store.createProvision(provision('live', 'stream1'));
        const got = await store.getProvision('live', 'stream1');
        assert.deepEqual(got, provision('live', 'stream1'));
        sameJson(got, provision('live', 'stream1'));
      });

      it('keys by (scope, name) and lists them', async () => {
        await store.createProvision(provision('live', 's1'));
        await store.createProvision(provision('live/room1', 's1', { meta: { a: 1 } }));
        assert.deepEqual((await store.getProvision('live/room1', 's1'))?.meta, { a: 1 });
        const all = (await store.listProvisions()).sort(byKey((p) => p.scope));
        assert.deepEqual(all, [provision('live', 's1'), provision('live/room1', 's1', { meta: { a: 1 } })]);
        assert.equal(await store.getProvision('other', 's1'), null);
      });

      it('rejects a duplicate with StoreConflictError and keeps the original', async () => {
        await store.createProvision(provision('live', 's1'));
        await assert.rejects(store.createProvision(provision('live', 's1', { meta: {} })), StoreConflictError);
        assert.deepEqual(await store.getProvision('live', 's1'), provision('live', 's1'));
      });

      it('updates, deletes and reports missing ones', async () => {
        await store.createProvision(provision('live', 's1'));
        const changed = provision('live', 's1', { meta: { stream: [] }, updated: T + 1 });
        assert.equal(await store.updateProvision(changed), true);
        assert.deepEqual(await store.getProvision('live', 's1'), changed);
        assert.equal(await store.updateProvision(provision('live', 'nope')), false);
        assert.equal(await store.deleteProvision('live', 's1'), true);
        assert.equal(await store.deleteProvision('live', 's1'), false);
        assert.deepEqual(await store.listProvisions(), []);
      });
    });

    describe('scale events', () => {
      it('assigns increasing ids and round-trips null role/node and nested data', async () => {
        const a = await store.addScaleEvent(event('g1', 1));
        const b = await store.addScaleEvent(event('g1', 2, { role: null, node: null, kind: 'refused', data: {} }));
        assert.ok(typeof a.id === 'number' && typeof b.id === 'number' && b.id > a.id);
        assert.deepEqual(a, { ...event('g1', 1), id: a.id });
        const listed = await store.listScaleEvents('g1', { limit: 10, offset: 0 });
        assert.deepEqual(listed, [b, a]);
        sameJson(listed[1].data, event('g1', 1).data);
        assert.equal(listed[0].role, null);
        assert.equal(listed[0].node, null);
      });

      it('lists newest first with limit and offset, per group, and counts', async () => {
        for (let i = 1; i <= 5; i++) await store.addScaleEvent(event('g1', i));
        await store.addScaleEvent(event('g2', 6));
        const reasons = async (limit: number, offset: number) =>
          (await store.listScaleEvents('g1', { limit, offset })).map((e) => e.reason);
        assert.deepEqual(await reasons(10, 0), ['event 5', 'event 4', 'event 3', 'event 2', 'event 1']);
        assert.deepEqual(await reasons(2, 0), ['event 5', 'event 4']);
        assert.deepEqual(await reasons(2, 3), ['event 2', 'event 1']);
        assert.deepEqual(await reasons(2, 5), []);
        assert.deepEqual(await reasons(0, 0), []);
        assert.equal(await store.countScaleEvents('g1'), 5);
        assert.equal(await store.countScaleEvents('g2'), 1);
        assert.equal(await store.countScaleEvents('nope'), 0);
        assert.deepEqual(await store.listScaleEvents('nope', { limit: 10, offset: 0 }), []);
      });
    });

    describe('launch intents and lease generations', () => {
      const intent = (identifier: string, over: Partial<LaunchIntent> = {}): LaunchIntent => ({
        identifier,
        group: 'g1',
        role: 'edge',
        zone: 'us-test1-a',
        instanceType: 'standard',
        generation: 0,
        created: T,
        host: null,
        updated: T,
        ...over,
      });

      it('adds, completes, lists oldest first and deletes; a duplicate identifier is a conflict', async () => {
        assert.equal(await store.addLaunchIntent(intent('i2', { created: T + 1, updated: T + 1 })), true);
        assert.equal(await store.addLaunchIntent(intent('i1')), true);
        await assert.rejects(store.addLaunchIntent(intent('i1')), StoreConflictError);
        assert.equal(await store.completeLaunchIntent('i1', '10.0.0.7', T + 5), true);
        assert.equal(await store.completeLaunchIntent('nope', '10.0.0.8', T + 5), false);
        assert.deepEqual(await store.listLaunchIntents(), [intent('i1', { host: '10.0.0.7', updated: T + 5 }), intent('i2', { created: T + 1, updated: T + 1 })]);
        assert.equal(await store.deleteLaunchIntent('i1'), true);
        assert.equal(await store.deleteLaunchIntent('i1'), false);
        assert.deepEqual((await store.listLaunchIntents()).map((i) => i.identifier), ['i2']);
      });

      it('lease generations count up per name; a fenced intent is written only under the current generation', async () => {
        assert.equal(await store.leaseGeneration('lease-a'), 0);
        assert.equal(await store.nextLeaseGeneration('lease-a', T), 1);
        assert.equal(await store.nextLeaseGeneration('lease-a', T + 1), 2);
        assert.equal(await store.nextLeaseGeneration('lease-b', T), 1);
        assert.equal(await store.leaseGeneration('lease-a'), 2);
        assert.equal(await store.addLaunchIntent(intent('stale', { generation: 1 }), { lease: 'lease-a', generation: 1 }), false, 'stale generation refused');
        assert.equal(await store.addLaunchIntent(intent('never', { generation: 1 }), { lease: 'lease-c', generation: 1 }), false, 'unknown lease refused');
        assert.equal(await store.addLaunchIntent(intent('fresh', { generation: 2 }), { lease: 'lease-a', generation: 2 }), true);
        assert.deepEqual((await store.listLaunchIntents()).map((i) => [i.identifier, i.generation]), [['fresh', 2]]);
      });
    });

    describe('durability and failures', () => {
      it('keeps everything across a restart', async (t) => {
        if (!ctx.reopen) return t.skip('this binding cannot reopen');
        await store.createLaunchConfig(launchConfig('lc1'));
        await store.createScalePolicy(regionPolicy('sp1'));
        await store.setAlarm({ role: 'edge', threshold: 65.5 });
        const g = await store.createGroup(group('g1'));
        const n = await store.saveNode(node('a', { lastReport: T, cpu: 0.2 }));
        const m = await store.saveNode(node('b'));
        await store.replaceNodeStreams('a', [stream('a', 's1'), stream('a', 's2', { scope: 'live/x' })]);
        await store.saveRelation(relation('a', 'b', { state: 'established' }));
        await store.createProvision(provision('live', 's1'));
        const e = await store.addScaleEvent(event('g1', 1));
        const li: LaunchIntent = { identifier: 'inst-1', group: 'g1', role: 'origin', zone: 'z', instanceType: 't', generation: 3, created: T, host: null, updated: T };
        await store.addLaunchIntent(li);
        await store.nextLeaseGeneration('l', T);

        store = await ctx.reopen();

        assert.deepEqual(await store.listLaunchIntents(), [li]);
        assert.equal(await store.leaseGeneration('l'), 1);
        sameJson(await store.getLaunchConfig('lc1'), launchConfig('lc1'));
        sameJson(await store.getScalePolicy('sp1'), regionPolicy('sp1'));
        assert.deepEqual(await store.listAlarms(), [{ role: 'edge', threshold: 65.5 }]);
        assert.deepEqual(await store.listGroups(), [g]);
        assert.deepEqual((await store.listNodes()).sort(byKey((x) => x.address)), [n, m]);
        assert.deepEqual(sortStreams(await store.listStreams()), sortStreams([stream('a', 's1'), stream('a', 's2', { scope: 'live/x' })]));
        assert.deepEqual(await store.listRelations(), [relation('a', 'b', { state: 'established' })]);
        assert.deepEqual(await store.listProvisions(), [provision('live', 's1')]);
        assert.deepEqual(await store.listScaleEvents('g1', { limit: 10, offset: 0 }), [e]);
        // ids keep counting after a restart
        const next = await store.saveNode(node('c'));
        assert.ok(next.id > Math.max(n.id, m.id));
      });

      it('a closed store rejects calls with StoreUnavailableError', async () => {
        await store.close();
        await assert.rejects(store.getGroup('g1'), StoreUnavailableError);
        await assert.rejects(store.saveNodeReport(node('a')), StoreUnavailableError);
        await assert.rejects(store.replaceNodeStreams('a', [stream('a', 's1')]), StoreUnavailableError);
        await assert.rejects(store.ping(), StoreUnavailableError);
        await store.close(); // idempotent
      });
    });
  });
}
