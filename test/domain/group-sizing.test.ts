import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sizeGroupRegion, sizingInfoSchema, type SizingInfo } from '../../src/domain/group-sizing.ts';

const info = (minPublishers: number, maxPublishers: number, minSubscribers: number, maxSubscribers: number): SizingInfo => ({
  minPublishers,
  maxPublishers,
  minSubscribers,
  maxSubscribers,
});

const cases: Array<{ why: string; info: SizingInfo; origin: number; edge: number; threshold: number; want: [number, number, number, number] }> = [
  // want: [origin min, origin max, edge min, edge max]
  { why: 'classic example: 500 publishers, 20000..60000 subscribers, 500-connection nodes, threshold 60 (300 per edge)', info: info(500, 500, 20000, 60000), origin: 500, edge: 500, threshold: 60, want: [1, 1, 67, 200] },
  { why: 'exact multiples do not round up', info: info(1000, 2000, 300, 600), origin: 500, edge: 500, threshold: 60, want: [2, 4, 1, 2] },
  { why: 'one over a multiple rounds up', info: info(1001, 2001, 301, 601), origin: 500, edge: 500, threshold: 60, want: [3, 5, 2, 3] },
  { why: 'no publishers still needs one origin', info: info(0, 0, 10, 10), origin: 500, edge: 500, threshold: 60, want: [1, 1, 1, 1] },
  { why: 'few publishers: minimum 1 origin, max from maxPublishers', info: info(1, 1200, 0, 100), origin: 500, edge: 100, threshold: 100, want: [1, 3, 1, 1] },
  { why: 'threshold 100 uses the whole edge capacity', info: info(1, 1, 500, 1000), origin: 500, edge: 500, threshold: 100, want: [1, 1, 1, 2] },
  { why: 'threshold 50 halves the usable edge capacity', info: info(1, 1, 500, 1000), origin: 500, edge: 500, threshold: 50, want: [1, 1, 2, 4] },
  { why: 'usable capacity with a fraction (333 × 60% = 199.8)', info: info(1, 1, 999, 1998), origin: 10, edge: 333, threshold: 60, want: [1, 1, 5, 10] },
  { why: 'exact arithmetic: 21 subscribers on 2 × 70% = 1.4 per edge is 15 edges (naive floats give 16)', info: info(1, 1, 21, 21), origin: 10, edge: 2, threshold: 70, want: [1, 1, 15, 15] },
  { why: 'zero subscribers: no edges', info: info(10, 20, 0, 0), origin: 10, edge: 500, threshold: 60, want: [1, 2, 0, 0] },
  { why: 'zero minSubscribers but some max: at least one edge', info: info(1, 1, 0, 1), origin: 500, edge: 500, threshold: 60, want: [1, 1, 1, 1] },
  { why: 'max ≥ min even when the max range is equal', info: info(700, 700, 900, 900), origin: 500, edge: 500, threshold: 60, want: [2, 2, 3, 3] },
];

for (const c of cases) {
  test(`sizing: ${c.why}`, () => {
    const s = sizeGroupRegion(c.info, { originCapacity: c.origin, edgeCapacity: c.edge, edgeThreshold: c.threshold });
    assert.deepEqual([s.origin.minLimit, s.origin.maxLimit, s.edge.minLimit, s.edge.maxLimit], c.want);
    assert.ok(s.origin.maxLimit >= s.origin.minLimit && s.edge.maxLimit >= s.edge.minLimit);
    assert.ok(s.origin.minLimit >= 1);
    assert.equal(s.usableEdgeCapacity, (c.edge * c.threshold) / 100);
  });
}

test('sizing: at the planned maximum the edge load stays at or under the threshold (the alarm is not crossed)', () => {
  for (const [edge, threshold, subs] of [
    [500, 60, 60000],
    [333, 60, 1998],
    [100, 75, 1001],
    [7, 33, 12345],
  ] as const) {
    const s = sizeGroupRegion(info(0, 0, 0, subs), { originCapacity: 1, edgeCapacity: edge, edgeThreshold: threshold });
    const loadPct = (subs / (s.edge.maxLimit * edge)) * 100;
    assert.ok(loadPct <= threshold, `${subs} subscribers on ${s.edge.maxLimit} × ${edge}: ${loadPct}% > ${threshold}%`);
    // and one edge fewer would cross it (no over-provisioning)
    assert.ok((subs / ((s.edge.maxLimit - 1) * edge)) * 100 > threshold);
  }
});

test('sizing: bad capacities and thresholds are programming errors', () => {
  assert.throws(() => sizeGroupRegion(info(1, 1, 1, 1), { originCapacity: 0, edgeCapacity: 1, edgeThreshold: 60 }), RangeError);
  assert.throws(() => sizeGroupRegion(info(1, 1, 1, 1), { originCapacity: 1, edgeCapacity: 1, edgeThreshold: 0 }), RangeError);
});

test('info schema: numbers as strings or floats; every bad field named; max ≥ min', () => {
  assert.deepEqual(sizingInfoSchema.parse({ minPublishers: '500', maxPublishers: 500.0, minSubscribers: '20000', maxSubscribers: 60000 }), info(500, 500, 20000, 60000));
  const r = sizingInfoSchema.safeParse({ minPublishers: 'x', maxPublishers: 5, minSubscribers: 200, maxSubscribers: 100 });
  assert.equal(r.success, false);
  const issues = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.ok(issues.some((m) => m.startsWith('minPublishers: must be an integer')), issues.join('; '));
  assert.ok(issues.some((m) => m === 'maxSubscribers: must be ≥ minSubscribers (100 < 200)'), issues.join('; '));
  const missing = sizingInfoSchema.safeParse({ minPublishers: 1, maxPublishers: 1, minSubscribers: 1 });
  assert.equal(missing.success, false);
  assert.deepEqual(missing.success ? [] : missing.error.issues.map((i) => i.path.join('.')), ['maxSubscribers']);
  assert.equal(sizingInfoSchema.safeParse({ minPublishers: -1, maxPublishers: 1, minSubscribers: 0, maxSubscribers: 0 }).success, false);
});
