import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/schema.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { createBroker } from '../../src/broker/broker.ts';
import { ClusterView, T0, add, simpleCluster } from './support.ts';

function make(view: ClusterView, provisioned: string[] = [], config: Record<string, unknown> = {}) {
  const decisions: [string, string][] = [];
  const broker = createBroker({
    view,
    clock: new ManualClock(T0),
    config: configSchema.parse(config),
    regions: ['us-test1'],
    provisions: { has: (scope, name) => provisioned.includes(`${scope}/${name}`) },
    onDecision: (a, o) => decisions.push([a, o]),
  });
  return { broker, decisions };
}

test('answers carry the classic shape and record one hand-out per request (the client uses one server; the rest are fallbacks)', () => {
  const v = simpleCluster(3);
  const { broker, decisions } = make(v);
  const d = broker.decide({ action: 'subscribe', scope: 'live', name: 'stream1', endpoints: 2 });
  assert.ok(d.ok);
  assert.deepEqual(d.answers, [
    { serverAddress: '10.0.1.1', scope: '/live', name: 'stream1', region: 'us-test1' },
    { serverAddress: '10.0.1.2', scope: '/live', name: 'stream1', region: 'us-test1' },
  ]);
  assert.deepEqual(v.handOuts(), [['10.0.1.1', 1]]);
  assert.deepEqual(decisions, [['subscribe', 'edge']]);
});

test('a refusal records no hand-out and reports its code', () => {
  const v = simpleCluster(3);
  const { broker, decisions } = make(v);
  const d = broker.decide({ action: 'subscribe', scope: 'live', name: 'nope' });
  assert.equal(d.ok, false);
  assert.equal(!d.ok && d.status, 404);
  assert.deepEqual(v.handOuts(), []);
  assert.deepEqual(decisions, [['subscribe', 'not-live']]);
});

test('consecutive decisions spread because hand-outs count as load', () => {
  const v = simpleCluster(3);
  const { broker } = make(v);
  const got = Array.from({ length: 6 }, () => {
    const d = broker.decide({ action: 'subscribe', scope: 'live', name: 'stream1' });
    return d.ok ? d.answers[0].serverAddress : 'refused';
  });
  assert.deepEqual(got, ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.1', '10.0.1.2', '10.0.1.3']);
});

test('transcode reads the provision cache; without transcode the cache is not asked', () => {
  const v = new ClusterView();
  add(v, 'o1', 'origin');
  add(v, 't1', 'transcoder');
  let asked = 0;
  const broker = createBroker({
    view: v,
    clock: new ManualClock(T0),
    config: configSchema.parse({}),
    regions: [],
    provisions: { has: (s, n) => (asked++, s === 'live' && n === 'abr') },
  });
  const pick = (name: string, transcode?: boolean) => {
    const d = broker.decide({ action: 'broadcast', scope: 'live', name, transcode });
    return d.ok ? d.answers[0].serverAddress : d.code;
  };
  assert.equal(pick('abr', true), 't1');
  assert.equal(pick('other', true), 'o1');
  assert.equal(asked, 2);
  assert.equal(pick('abr'), 'o1');
  assert.equal(asked, 2);
});

test('the instanceevaluator weights from the config reach the tie-break', () => {
  const setup = () => {
    const v = new ClusterView();
    add(v, 'o1', 'origin', { cpu: 0.1, memory: 0.9 });
    add(v, 'o2', 'origin', { cpu: 0.3, memory: 0.1 });
    return v;
  };
  const first = (config: Record<string, unknown>) => {
    const d = make(setup(), [], config).broker.decide({ action: 'broadcast', scope: 'live', name: 'x' });
    return d.ok ? d.answers[0].serverAddress : d.code;
  };
  assert.equal(first({ instanceevaluator: { 'memory.metricweight': '0' } }), 'o1');
  assert.equal(first({ instanceevaluator: { 'connections.metricweight': '0' } }), 'o2');
});

test('knowsRegion: configured regions and regions of nodes', () => {
  const v = new ClusterView();
  add(v, 'o1', 'origin', { region: 'eu-test9' });
  const { broker } = make(v);
  assert.equal(broker.knowsRegion('us-test1'), true);
  assert.equal(broker.knowsRegion('eu-test9'), true);
  assert.equal(broker.knowsRegion('mars-1'), false);
});
