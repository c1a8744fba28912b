import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { red5Report, streamEvents, type Red5Snapshot, type ServerStatistics } from '../../src/cluster/red5-report.ts';
import { reportSchema, sortReportItems } from '../../src/cluster/node-protocol.ts';

const stats = { active_connections: 12, total_memory: 1024, free_memory: 256, max_memory: 2048, processors: 4 };
const snap = (streams: Array<[string, string, number]>, s: ServerStatistics = stats): Red5Snapshot => ({
  statistics: s,
  streams: streams.map(([app, name, n]) => ({ app, name, stats: { active_subscribers: n } })),
});

describe('Server API → node protocol report', () => {
  it('one publisher per live stream, its active subscribers, JVM memory share, OS load per processor', () => {
    const r = red5Report({
      host: '10.0.0.7',
      port: 5080,
      snapshot: snap([['live', 'a', 3], ['live', 'b', 4], ['vod', 'a', 0]]),
      links: [{ parent: '10.0.0.1:5080', state: 'established' }],
      os: { loadavg1: 1, cpus: 4 },
    });
    assert.deepEqual(r, {
      type: 'report',
      host: '10.0.0.7',
      port: 5080,
      // 12 connections, 3 of them publishers: 9 take subscriber capacity although only 7 play yet.
      connections: { publishers: 3, subscribers: 9 },
      streams: [
        { scope: '/live', name: 'a', publishers: 1, subscribers: 3 },
        { scope: '/live', name: 'b', publishers: 1, subscribers: 4 },
        { scope: '/vod', name: 'a', publishers: 1, subscribers: 0 },
      ],
      links: [{ parent: '10.0.0.1:5080', state: 'established' }],
      cpu: 0.25,
      memory: 0.375,
    });
    const parsed = reportSchema.parse(r);
    assert.deepEqual(sortReportItems(parsed).rejected.concat(sortReportItems(parsed).rejectedLinks), [], 'the manager accepts every item');
  });

  it('never reports more than 0..1 and never fewer subscribers than the streams have', () => {
    const r = red5Report({
      host: 'h', port: 5080, capacity: 300,
      snapshot: snap([['live', 'a', 5]], { active_connections: 2, total_memory: 4096, free_memory: 0, max_memory: 2048 }),
      links: [], os: { loadavg1: 9, cpus: 2 },
    });
    assert.deepEqual([r.connections.subscribers, r.cpu, r.memory, r.capacity], [5, 1, 1, 300]);
  });

  it('publish/unpublish for streams that appeared or vanished between two reads, none on the first', () => {
    const a = snap([['live', 'x', 0], ['live', 'y', 1]]);
    const b = snap([['live', 'y', 2], ['other', 'x', 0]]);
    assert.deepEqual(streamEvents('h', null, a), []);
    assert.deepEqual(streamEvents('h', a, b), [
      { type: 'publish', host: 'h', scope: '/other', name: 'x' },
      { type: 'unpublish', host: 'h', scope: '/live', name: 'x' },
    ]);
  });
});
