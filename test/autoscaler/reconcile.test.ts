import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planReconcile, type ReconcileInput } from '../../src/autoscaler/reconcile.ts';
import type { Instance } from '../../src/cloud/cloud-controller.ts';
import type { LaunchIntent } from '../../src/domain/types.ts';

const NOW = 1_700_000_000_000;
const intent = (identifier: string, created = NOW - 1000): LaunchIntent => ({ identifier, group: 'g', role: 'edge', zone: 'z', instanceType: 't', generation: 1, created, host: null, updated: created });
const inst = (identifier: string, host: string): Instance => ({ identifier, host, port: null, zone: 'z', region: 'r', instanceType: 't', state: 'running', launchTime: NOW - 5000, group: 'g' });
const input = (o: Partial<ReconcileInput>): ReconcileInput => ({
  intents: [],
  instances: new Map(),
  nodeIds: new Set(),
  launching: new Set(),
  groups: new Map([['g', { state: 'active' }]]),
  orphanSince: new Map(),
  now: NOW,
  observedSince: NOW - 60_000,
  launchGraceMs: 10_000,
  orphanGraceMs: 30_000,
  ...o,
});
const kinds = (x: ReconcileInput) => planReconcile(x).map((a) => `${a.kind}:${'intent' in a ? a.intent.identifier : a.instance.identifier}`);

test('reconcile: intents of other processes are adopted, waited for (counted in flight) or released; our own are left alone', () => {
  assert.deepEqual(
    kinds(
      input({
        intents: [intent('mine'), intent('done'), intent('running'), intent('young'), intent('old', NOW - 20_000), { ...intent('gone-group'), group: 'nope' }],
        instances: new Map([['running', inst('running', 'h1')], ['mine', inst('mine', 'h0')]]),
        launching: new Set(['mine']),
        nodeIds: new Set(['done']),
      }),
    ),
    ['drop:done', 'adopt:running', 'wait:young', 'release-intent:old', 'drop:gone-group'],
  );
});

test('reconcile: a new leader gives an intent the launch grace from its own observation start', () => {
  const old = intent('old', NOW - 600_000);
  assert.deepEqual(kinds(input({ intents: [old], observedSince: NOW - 5000 })), ['wait:old']);
  assert.deepEqual(kinds(input({ intents: [old], observedSince: NOW - 10_000 })), ['release-intent:old']);
});

test('reconcile: a host with no node and no intent is released only after the orphan grace', () => {
  const instances = new Map([['lost', inst('lost', 'h9')], ['node', inst('node', 'h8')]]);
  assert.deepEqual(kinds(input({ instances, nodeIds: new Set(['node']) })), ['orphan:lost'], 'first seen now');
  assert.deepEqual(kinds(input({ instances, nodeIds: new Set(['node']), orphanSince: new Map([['lost', NOW - 29_999]]) })), ['orphan:lost']);
  assert.deepEqual(kinds(input({ instances, nodeIds: new Set(['node']), orphanSince: new Map([['lost', NOW - 30_000]]) })), ['release-host:lost']);
  assert.deepEqual(kinds(input({ instances, nodeIds: new Set(['node']), orphanSince: new Map([['lost', NOW - 30_000]]), observedSince: NOW - 1000 })), ['orphan:lost'], 'not before this leader saw it long enough');
});
