import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOutcomes, applyResults, avoidedZones, createMemory, poolBackoffMs, ZONE_FAILURE_LIMIT } from '../../src/autoscaler/memory.ts';
import { keyOf } from '../../src/autoscaler/estimator.ts';
import type { LaunchItem, LaunchOutcome } from '../../src/autoscaler/types.ts';
import { group, NOW, node, origin, plan, SETTINGS, world } from './helpers.ts';

const KEY = keyOf('g1', 'us-test1', 'edge');
const base = { key: KEY, group: 'g1', role: 'edge' as const, region: 'us-test1' };
const failed = (zone: string | null, code: string | null, at = NOW): LaunchOutcome => ({ type: 'failed', ...base, zone, code, error: 'boom', at });
const ok = (zone: string, at = NOW): LaunchOutcome => ({ type: 'launched', ...base, zone, address: '10.9.9.9', identifier: 'i', at });
const launchItem = (rule: LaunchItem['rule']): LaunchItem => ({ kind: 'launch', ...base, rule, reason: 'r', data: {}, count: 2, eventKind: 'launch', avoidZones: [], zones: ['us-test1-a'], instanceType: 'standard' });

test('zone back-off: 3 consecutive non-pool failures in a zone avoid it for blackListCleanUpTime, with one event', () => {
  const m = createMemory();
  assert.deepEqual(applyOutcomes(m, [failed('us-test1-a', 'TIMEOUT'), failed('us-test1-a', 'UNREACHABLE')], SETTINGS), []);
  assert.equal(avoidedZones(m, NOW).size, 0);
  const ev = applyOutcomes(m, [failed('us-test1-a', 'INTERNAL', NOW + 5000)], SETTINGS);
  assert.equal(ev.length, 1);
  assert.equal(ev[0].eventKind, 'backoff');
  assert.equal(ev[0].rule, 'zone-backoff');
  assert.equal(ev[0].data.zone, 'us-test1-a');
  assert.equal(ev[0].data.failures, ZONE_FAILURE_LIMIT);
  assert.equal(m.zoneAvoidUntil.get('us-test1-a'), NOW + 5000 + SETTINGS.blackListCleanUpTime);
  assert.deepEqual([...avoidedZones(m, NOW + 5000)], ['us-test1-a']);
  assert.equal(avoidedZones(m, NOW + 5000 + SETTINGS.blackListCleanUpTime).size, 0, 'the window ends');
});

test('zone back-off: a success resets the count; pool exhaustion and non-cloud errors do not count', () => {
  const m = createMemory();
  applyOutcomes(m, [failed('us-test1-a', 'TIMEOUT'), failed('us-test1-a', 'TIMEOUT'), ok('us-test1-a')], SETTINGS);
  assert.deepEqual(applyOutcomes(m, [failed('us-test1-a', 'TIMEOUT'), failed('us-test1-a', 'TIMEOUT')], SETTINGS), []);
  assert.deepEqual(applyOutcomes(m, [failed('us-test1-a', 'POOL_EXHAUSTED'), failed(null, 'SM_NOT_FOUND'), failed('us-test1-a', 'UNKNOWN_ZONE')], SETTINGS), []);
  assert.equal(avoidedZones(m, NOW).size, 0);
});

test('pool back-off: starts at the first POOL_EXHAUSTED, one backoff event per batch saying what is missing', () => {
  const m = createMemory();
  const at = NOW + 2000;
  const ev = applyOutcomes(
    m,
    [failed('us-test1-a', 'POOL_EXHAUSTED', at), failed('us-test1-a', 'POOL_EXHAUSTED', at + 1), { type: 'batch', ...base, wanted: 3, launched: 1, poolExhausted: 2, failed: 0, shortReported: false, at: at + 2 }],
    SETTINGS,
  );
  assert.deepEqual(m.poolBackoff.get(KEY), { since: at, until: at + poolBackoffMs(SETTINGS) });
  assert.equal(ev.length, 1);
  assert.equal(ev[0].rule, 'pool-backoff');
  assert.deepEqual([ev[0].data.wanted, ev[0].data.launched, ev[0].data.missing], [3, 1, 2]);
  assert.match(ev[0].reason, /wanted 3, launched 1, missing 2/);
  // The pre-check already recorded the shortfall: no second event.
  assert.deepEqual(applyOutcomes(m, [{ type: 'batch', ...base, wanted: 3, launched: 1, poolExhausted: 1, failed: 0, shortReported: true, at }], SETTINGS), []);
});

test('pool back-off window: max(30 s, 10 ticks)', () => {
  assert.equal(poolBackoffMs({ ...SETTINGS, tickInterval: 1000 }), 30_000);
  assert.equal(poolBackoffMs({ ...SETTINGS, tickInterval: 5000 }), 50_000);
});

test('applyResults: cool-downs start on load-driven actions only; a pre-checked shortfall starts the pool back-off', () => {
  const m = createMemory();
  applyResults(m, [{ item: launchItem('min-limit'), ok: true, started: 2 }], NOW, SETTINGS);
  assert.equal(m.lastScaleOut.has(KEY), false, 'the floor does not start a cool-down');
  applyResults(m, [{ item: launchItem('scale-out'), ok: true, started: 1, short: { wanted: 2, launched: 1, missing: 1 } }], NOW, SETTINGS);
  assert.equal(m.lastScaleOut.get(KEY), NOW);
  assert.deepEqual(m.poolBackoff.get(KEY), { since: NOW, until: NOW + 30_000 });
  applyResults(m, [{ item: { kind: 'drain', ...base, rule: 'scale-in', reason: 'r', data: {}, address: 'x' }, ok: true }], NOW + 5, SETTINGS);
  assert.equal(m.lastScaleIn.get(KEY), NOW + 5);
  applyResults(m, [{ item: { kind: 'drain', ...base, rule: 'scale-in', reason: 'r', data: {}, address: 'x' }, ok: false }], NOW + 9, SETTINGS);
  assert.equal(m.lastScaleIn.get(KEY), NOW + 5, 'a failed drain is not a scale-in');
});

test('observe: forgets groups that are gone', () => {
  const m = createMemory();
  m.lastScaleOut.set(keyOf('gone', 'r', 'edge'), NOW);
  m.poolBackoff.set(keyOf('gone', 'r', 'edge'), { since: NOW, until: NOW + 1e6 });
  m.lastScaleOut.set(KEY, NOW);
  plan(world({ groups: [group()], nodes: [origin('o'), node('a')] }), m);
  assert.deepEqual([...m.lastScaleOut.keys()], [KEY]);
  assert.equal(m.poolBackoff.size, 0);
});
