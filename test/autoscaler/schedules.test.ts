import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { activeWindow } from '../../src/domain/autoscale-controls.ts';
import type { Schedule } from '../../src/domain/types.ts';

const at = (iso: string) => Date.parse(iso);

describe('activeWindow', () => {
  // "edges min 10 every Friday 18:00–23:00 UTC"
  const friday: Schedule = { id: 'f', role: 'edge', minLimit: 10, cron: '0 18 * * 5', durationMs: 5 * 3600_000 };

  it('opens at the cron start, stays open for the duration, closes at its end', () => {
    assert.equal(activeWindow(friday, at('2026-12-11T17:59:59Z')), null);
    assert.deepEqual(activeWindow(friday, at('2026-12-11T18:00:00Z')), { start: at('2026-12-11T18:00:00Z'), end: at('2026-12-11T23:00:00Z') });
    assert.deepEqual(activeWindow(friday, at('2026-12-11T22:59:59Z'))?.start, at('2026-12-11T18:00:00Z'));
    assert.equal(activeWindow(friday, at('2026-12-11T23:00:00Z')), null);
    assert.equal(activeWindow(friday, at('2026-12-12T19:00:00Z')), null, 'Saturday');
  });

  it('reads the cron expression in the schedule time zone', () => {
    const paris = { ...friday, timezone: 'Europe/Paris' }; // 18:00 in Paris is 17:00 UTC in December
    assert.equal(activeWindow(paris, at('2026-12-11T17:30:00Z'))?.start, at('2026-12-11T17:00:00Z'));
  });

  it('a one-off window is [start, end)', () => {
    const once: Schedule = { id: 'o', role: 'edge', maxLimit: 2, start: 1000, end: 2000 };
    assert.equal(activeWindow(once, 999), null);
    assert.deepEqual(activeWindow(once, 1000), { start: 1000, end: 2000 });
    assert.equal(activeWindow(once, 2000), null);
  });
});
