import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReportReader, reportSchema, sortReportItems, type Report } from '../../src/cluster/node-protocol.ts';

/**
 * The report reader (the hot path of node reports) must never accept what the schemas refuse, and must
 * give exactly the schemas' output for what it accepts. Random reports built from tricky values.
 */

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = [0, 1, 5, 0.5, -1, 1.5, 10_000_000, 10_000_001, 65535, 65536, NaN, Infinity, '3', null, true, undefined];
const FRACTIONS = [0, 0.3, 1, 1.01, -0.1, '0.5', null, NaN, undefined];
const STRINGS = ['live', '/live/', 'live/room1', '', '/', 'a'.repeat(254), 'a'.repeat(255), 'x'.repeat(1025), 'café', 'a b', 7, null, undefined];
const HOSTS = ['10.0.0.1', '127.0.0.5', 'node-1.example.com', '[::1]', 'FE80::1', '', 'bad host', 'a'.repeat(254), 5, null, undefined];

test('the report reader accepts only what the schemas accept, with their output', () => {
  const reader = createReportReader();
  const next = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const maybe = <T>(v: T) => (next() < 0.85 ? v : pick([...NUMBERS, ...STRINGS]));
  let quick = 0;
  let quickItems = 0;
  for (let i = 0; i < 3000; i++) {
    const body: Record<string, unknown> = {
      type: next() < 0.95 ? 'report' : pick(['publish', 'x', undefined]),
      host: next() < 0.7 ? '10.0.0.1' : pick(HOSTS),
      connections: next() < 0.9 ? { publishers: maybe(pick([0, 1, 2])), subscribers: maybe(pick([0, 40, 9_999_999])) } : pick([null, [], 'x', undefined]),
    };
    if (next() < 0.7) body.port = next() < 0.8 ? 5080 : pick(NUMBERS);
    if (next() < 0.7) body.capacity = next() < 0.8 ? 100 : pick(NUMBERS);
    if (next() < 0.5) body.cpu = pick(FRACTIONS);
    if (next() < 0.5) body.memory = pick(FRACTIONS);
    if (next() < 0.05) body.extra = 'ignored';
    if (next() < 0.9) {
      body.streams = Array.from({ length: Math.floor(next() * 6) }, () =>
        next() < 0.05
          ? pick([null, 'x', [], 3])
          : {
              scope: next() < 0.7 ? 'live' : pick(STRINGS),
              name: next() < 0.6 ? `s${Math.floor(next() * 4)}` : pick(STRINGS),
              publishers: next() < 0.8 ? pick([0, 1]) : pick(NUMBERS),
              subscribers: next() < 0.8 ? 12 : pick(NUMBERS),
              ...(next() < 0.05 ? { extra: 1 } : {}),
            },
      );
    } else if (next() < 0.3) body.streams = pick(['x', null, {}]);
    if (next() < 0.2) body.links = next() < 0.8 ? [{ parent: '10.0.0.9:5080', state: 'established' }] : 'x';

    const want = reportSchema.safeParse(body);
    const got = reader.report(body);
    if (got) {
      quick++;
      assert.ok(want.success, `reader accepted what the schema refuses: ${JSON.stringify(body)}`);
      assert.deepEqual(got, want.data);
    }
    if (!want.success) continue;
    // Items: the reader's way and the schema's way sort them alike (applied, refused with the same reason).
    const byReader = sortReportItems(want.data, reader);
    const bySchema = sortReportItems(want.data);
    assert.deepEqual(byReader, bySchema, JSON.stringify(body.streams));
    quickItems += byReader.streams.length;
  }
  // Not vacuous: well-formed reports take the quick way.
  assert.ok(quick > 400, `${quick} reports read quickly`);
  assert.ok(quickItems > 400, `${quickItems} items`);
});

test('names and hosts are judged by the schemas: the reader remembers their verdict, not its own rule', () => {
  const reader = createReportReader();
  const base = { type: 'report', connections: { publishers: 0, subscribers: 0 } } as const;
  assert.equal(reader.report({ ...base, host: 'bad host' }), null);
  assert.equal(reader.report({ ...base, host: 'bad host' }), null, 'remembered as refused');
  const ok = reader.report({ ...base, host: '10.0.0.1' }) as Report;
  assert.deepEqual(ok, reportSchema.parse({ ...base, host: '10.0.0.1' }));
  assert.equal(reader.stream({ scope: '/', name: 's', publishers: 0, subscribers: 0 }), null);
  assert.deepEqual(reader.stream({ scope: '/live/', name: 's', publishers: 1, subscribers: 2 }), { scope: 'live', name: 's', publishers: 1, subscribers: 2 });
  assert.equal(reader.stream({ scope: 'live', name: 's', publishers: 1.5, subscribers: 2 }), null);
});
