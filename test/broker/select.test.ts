import { test } from 'node:test';
import assert from 'node:assert/strict';
import { select, DEFAULT_WEIGHTS, pressureOf, type EvaluatorWeights, type SelectRequest } from '../../src/broker/select.ts';
import { ClusterView, T0, SPEED, add, link, publish, carry, node } from './support.ts';

type Expect = { nodes: string[]; kind?: string } | { status: 404 | 503; code: string };

interface Case {
  name: string;
  setup: (v: ClusterView) => void;
  req: Partial<SelectRequest>;
  expect: Expect;
  now?: number;
  weights?: EvaluatorWeights;
}

const STALE = T0 - 2 * SPEED - 1; // last report more than two reporting periods ago

const cases: Case[] = [
  // ---------------------------------------------------------------- broadcast
  {
    name: 'broadcast: least-loaded origin',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 50 });
      add(v, 'o2', 'origin', { load: 10 });
      add(v, 'o3', 'origin', { load: 30 });
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o2'], kind: 'origin' },
  },
  {
    name: 'broadcast: edges and relays are never origins',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 90 });
      add(v, 'e1', 'edge');
      add(v, 'r1', 'relay');
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o1'] },
  },
  {
    name: 'broadcast: load ratio uses capacity',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 100, capacity: 1000 }); // 0.10
      add(v, 'o2', 'origin', { load: 20, capacity: 100 }); // 0.20
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o1'] },
  },
  {
    name: 'broadcast: clients handed out since the last report count as load',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 10 });
      add(v, 'o2', 'origin', { load: 20 });
      v.noteHandedOut('o1', 15);
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o2'] },
  },
  {
    name: 'broadcast: sticky to the origin where the stream is live, even when another is idler',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 90 });
      add(v, 'o2', 'origin', { load: 0 });
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o1'], kind: 'sticky' },
  },
  {
    name: 'broadcast: sticky even when the live origin is full',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 100 });
      add(v, 'o2', 'origin', { load: 0 });
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o1'], kind: 'sticky' },
  },
  {
    name: 'broadcast: sticky across regions (a stream never gets two origins)',
    setup: (v) => {
      add(v, 'o1', 'origin', { region: 'eu-1' });
      add(v, 'o2', 'origin', { region: 'us-1' });
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'broadcast', region: 'us-1', strict: true },
    expect: { nodes: ['o1'], kind: 'sticky' },
  },
  {
    name: 'broadcast: sticky to a transcoder publishing the stream',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 't1', 'transcoder', { load: 50 });
      publish(v, 't1', 'live', 'stream1');
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['t1'], kind: 'sticky' },
  },
  {
    name: 'broadcast: a stream only pulled by an edge is not live for stickiness',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 50 });
      add(v, 'o2', 'origin', { load: 0 });
      add(v, 'e1', 'edge');
      carry(v, 'e1', 'live', 'stream1', 5);
      publish(v, 'o1', 'live', 'stream1', { publishers: 0 });
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o2'], kind: 'origin' },
  },
  {
    name: 'broadcast: live origin draining → a new origin',
    setup: (v) => {
      add(v, 'o1', 'origin', { state: 'draining' });
      add(v, 'o2', 'origin', { load: 40 });
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o2'], kind: 'origin' },
  },
  {
    name: 'broadcast: live origin missed two reports → a new origin',
    setup: (v) => {
      add(v, 'o1', 'origin', { lastReport: STALE });
      add(v, 'o2', 'origin', { load: 40 });
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o2'], kind: 'origin' },
  },
  {
    name: 'broadcast: one missed report still accepts clients',
    setup: (v) => {
      add(v, 'o1', 'origin', { lastReport: T0 - 2 * SPEED, load: 0 });
      add(v, 'o2', 'origin', { load: 40 });
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o1'] },
  },
  {
    name: 'broadcast: draining, stale, pending and never-reported origins are never chosen',
    setup: (v) => {
      add(v, 'o1', 'origin', { state: 'draining' });
      add(v, 'o2', 'origin', { lastReport: STALE });
      add(v, 'o3', 'origin', { state: 'pending', lastReport: null });
      add(v, 'o4', 'origin', { lastReport: null });
      add(v, 'o5', 'origin', { load: 99 });
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o5'] },
  },
  {
    name: 'broadcast: no origin accepts clients → 503 no-node',
    setup: (v) => {
      add(v, 'o1', 'origin', { state: 'draining' });
      add(v, 'o2', 'origin', { lastReport: STALE });
    },
    req: { action: 'broadcast' },
    expect: { status: 503, code: 'no-node' },
  },
  {
    name: 'broadcast: empty cluster → 503 no-node',
    setup: () => {},
    req: { action: 'broadcast' },
    expect: { status: 503, code: 'no-node' },
  },
  {
    name: 'broadcast: full origins are skipped',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 100 });
      add(v, 'o2', 'origin', { load: 99 });
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o2'] },
  },
  {
    name: 'broadcast: every origin full → 503 full',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 100 });
      add(v, 'o2', 'origin', { load: 60 });
      v.noteHandedOut('o2', 40);
    },
    req: { action: 'broadcast' },
    expect: { status: 503, code: 'full' },
  },
  {
    name: 'broadcast: region picks a node of that region even when busier',
    setup: (v) => {
      add(v, 'o1', 'origin', { region: 'us-1', load: 80 });
      add(v, 'o2', 'origin', { region: 'eu-1', load: 0 });
    },
    req: { action: 'broadcast', region: 'us-1' },
    expect: { nodes: ['o1'] },
  },
  {
    name: 'broadcast: region without a node, not strict → another region',
    setup: (v) => {
      add(v, 'o1', 'origin', { region: 'eu-1', load: 10 });
      add(v, 'o2', 'origin', { region: 'eu-2', load: 5 });
    },
    req: { action: 'broadcast', region: 'us-1' },
    expect: { nodes: ['o2'] },
  },
  {
    name: 'broadcast: region whose nodes are all full, not strict → another region',
    setup: (v) => {
      add(v, 'o1', 'origin', { region: 'us-1', load: 100 });
      add(v, 'o2', 'origin', { region: 'eu-1', load: 5 });
    },
    req: { action: 'broadcast', region: 'us-1' },
    expect: { nodes: ['o2'] },
  },
  {
    name: 'broadcast: region without a node, strict → 503 region',
    setup: (v) => {
      add(v, 'o1', 'origin', { region: 'eu-1' });
    },
    req: { action: 'broadcast', region: 'us-1', strict: true },
    expect: { status: 503, code: 'region' },
  },
  {
    name: 'broadcast: endpoints=2 → the two least-loaded origins, best first',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 50 });
      add(v, 'o2', 'origin', { load: 10 });
      add(v, 'o3', 'origin', { load: 30 });
    },
    req: { action: 'broadcast', endpoints: 2 },
    expect: { nodes: ['o2', 'o3'] },
  },
  {
    name: 'broadcast: endpoints with region, not strict → region first, then others',
    setup: (v) => {
      add(v, 'o1', 'origin', { region: 'us-1', load: 50 });
      add(v, 'o2', 'origin', { region: 'eu-1', load: 10 });
      add(v, 'o3', 'origin', { region: 'eu-1', load: 30 });
    },
    req: { action: 'broadcast', endpoints: 2, region: 'us-1' },
    expect: { nodes: ['o1', 'o2'] },
  },
  {
    name: 'broadcast: endpoints=3 with 2 available, not strict → the 2',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 50 });
      add(v, 'o2', 'origin', { load: 10 });
      add(v, 'o3', 'origin', { state: 'draining' });
    },
    req: { action: 'broadcast', endpoints: 3 },
    expect: { nodes: ['o2', 'o1'] },
  },
  {
    name: 'broadcast: endpoints=3 with 2 available, strict → 503 endpoints',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 50 });
      add(v, 'o2', 'origin', { load: 10 });
    },
    req: { action: 'broadcast', endpoints: 3, strict: true },
    expect: { status: 503, code: 'endpoints' },
  },
  {
    name: 'broadcast: endpoints on a live stream give its one origin (not strict)',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 50 });
      add(v, 'o2', 'origin', { load: 10 });
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'broadcast', endpoints: 2 },
    expect: { nodes: ['o1'], kind: 'sticky' },
  },
  {
    name: 'broadcast: transcode with a provision → least-loaded transcoder',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 0 });
      add(v, 't1', 'transcoder', { load: 40 });
      add(v, 't2', 'transcoder', { load: 20 });
    },
    req: { action: 'broadcast', transcode: true, hasProvision: true },
    expect: { nodes: ['t2'], kind: 'transcoder' },
  },
  {
    name: 'broadcast: transcode without a provision → origin',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 30 });
      add(v, 't1', 'transcoder', { load: 0 });
    },
    req: { action: 'broadcast', transcode: true, hasProvision: false },
    expect: { nodes: ['o1'], kind: 'origin' },
  },
  {
    name: 'broadcast: a provision without transcode=true → origin',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 30 });
      add(v, 't1', 'transcoder', { load: 0 });
    },
    req: { action: 'broadcast', hasProvision: true },
    expect: { nodes: ['o1'], kind: 'origin' },
  },
  {
    name: 'broadcast: transcode with a provision but no transcoder node → 503 no-transcoder',
    setup: (v) => {
      add(v, 'o1', 'origin');
    },
    req: { action: 'broadcast', transcode: true, hasProvision: true },
    expect: { status: 503, code: 'no-transcoder' },
  },
  {
    name: 'tie-break: equal load → lower memory/cpu pressure',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 10, cpu: 0.9, memory: 0.9 });
      add(v, 'o2', 'origin', { load: 10, cpu: 0.2, memory: 0.3 });
      add(v, 'o3', 'origin', { load: 10, cpu: 0.5, memory: 0.5 });
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o2'] },
  },
  {
    name: 'tie-break: the weights decide between memory and cpu (memory weight 0 → cpu only)',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 10, cpu: 0.1, memory: 0.9 });
      add(v, 'o2', 'origin', { load: 10, cpu: 0.3, memory: 0.1 });
    },
    req: { action: 'broadcast' },
    weights: { ...DEFAULT_WEIGHTS, memory: 0 },
    expect: { nodes: ['o1'] },
  },
  {
    name: 'tie-break: the weights decide between memory and cpu (connections weight 0 → memory only)',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 10, cpu: 0.1, memory: 0.9 });
      add(v, 'o2', 'origin', { load: 10, cpu: 0.3, memory: 0.1 });
    },
    req: { action: 'broadcast' },
    weights: { ...DEFAULT_WEIGHTS, connections: 0 },
    expect: { nodes: ['o2'] },
  },
  {
    name: 'tie-break: unreported metrics count as neutral 0.5',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 10 });
      add(v, 'o2', 'origin', { load: 10, cpu: 0.6, memory: 0.6 });
      add(v, 'o0', 'origin', { load: 10, cpu: 0.7, memory: 0.7 });
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['o1'] },
  },
  {
    name: 'tie-break: all equal → lowest address',
    setup: (v) => {
      add(v, '10.0.0.9', 'origin');
      add(v, '10.0.0.3', 'origin');
      add(v, '10.0.0.5', 'origin');
    },
    req: { action: 'broadcast', endpoints: 3 },
    expect: { nodes: ['10.0.0.3', '10.0.0.5', '10.0.0.9'] },
  },

  {
    name: 'tie-break: all equal, single answer → lowest address whatever the offer order',
    setup: (v) => {
      add(v, '10.0.0.9', 'origin', { cpu: 0.4, memory: 0.4 });
      add(v, '10.0.0.3', 'origin', { cpu: 0.4, memory: 0.4 });
      add(v, '10.0.0.5', 'origin', { cpu: 0.4, memory: 0.4 });
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['10.0.0.3'] },
  },
  {
    name: 'tie-break: pressure beats address, single answer',
    setup: (v) => {
      add(v, '10.0.0.1', 'origin', { cpu: 0.9, memory: 0.9 });
      add(v, '10.0.0.2', 'origin', { cpu: 0.1, memory: 0.1 });
      add(v, '10.0.0.3', 'origin', { cpu: 0.5, memory: 0.5 });
    },
    req: { action: 'broadcast' },
    expect: { nodes: ['10.0.0.2'] },
  },

  // ---------------------------------------------------------------- subscribe
  {
    name: 'subscribe: least-loaded edge linked to the stream origin',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge', { load: 30 });
      add(v, 'e2', 'edge', { load: 10 });
      add(v, 'e3', 'edge', { load: 20 });
      for (const e of ['e1', 'e2', 'e3']) link(v, 'o1', e);
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['e2'], kind: 'edge' },
  },
  {
    name: 'subscribe: edges of another origin are not candidates',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'o2', 'origin', { group: 'g2' });
      add(v, 'e1', 'edge', { load: 30 });
      add(v, 'e9', 'edge', { load: 0, group: 'g2' });
      link(v, 'o1', 'e1');
      link(v, 'o2', 'e9', 'established', 'g2');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['e1'] },
  },
  {
    name: 'subscribe: through relays (origin → relay → edge)',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'r1', 'relay');
      add(v, 'e1', 'edge', { load: 30 });
      add(v, 'e2', 'edge', { load: 5 });
      link(v, 'o1', 'r1');
      link(v, 'r1', 'e1');
      link(v, 'r1', 'e2');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['e2'], kind: 'edge' },
  },
  {
    name: 'subscribe: a relay that stopped reporting cuts its edges off',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'r1', 'relay', { lastReport: STALE });
      add(v, 'r2', 'relay');
      add(v, 'e1', 'edge', { load: 0 });
      add(v, 'e2', 'edge', { load: 50 });
      link(v, 'o1', 'r1');
      link(v, 'o1', 'r2');
      link(v, 'r1', 'e1');
      link(v, 'r2', 'e2');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['e2'] },
  },
  {
    name: 'subscribe: established links before links still coming up',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge', { load: 0 });
      add(v, 'e2', 'edge', { load: 50 });
      link(v, 'o1', 'e1', 'connecting');
      link(v, 'o1', 'e2', 'established');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['e2'] },
  },
  {
    name: 'subscribe: a link coming up is used when no established edge can take the client',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge', { load: 0 });
      add(v, 'e2', 'edge', { load: 100 });
      link(v, 'o1', 'e1', 'prospective');
      link(v, 'o1', 'e2', 'established');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['e1'] },
  },
  {
    name: 'subscribe: disconnecting, disconnected and failed links are not used',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge', { load: 0 });
      add(v, 'e2', 'edge', { load: 0 });
      add(v, 'e3', 'edge', { load: 0 });
      add(v, 'e4', 'edge', { load: 90 });
      link(v, 'o1', 'e1', 'disconnecting');
      link(v, 'o1', 'e2', 'disconnected');
      link(v, 'o1', 'e3', 'error');
      link(v, 'o1', 'e4', 'established');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['e4'] },
  },
  {
    name: 'subscribe: draining and stale edges are never chosen',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge', { load: 0, state: 'draining' });
      add(v, 'e2', 'edge', { load: 0, lastReport: STALE });
      add(v, 'e3', 'edge', { load: 80 });
      for (const e of ['e1', 'e2', 'e3']) link(v, 'o1', e);
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['e3'] },
  },
  {
    name: 'subscribe: every edge draining or stale → 503, not the origin',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge', { state: 'draining' });
      add(v, 'e2', 'edge', { lastReport: STALE });
      link(v, 'o1', 'e1');
      link(v, 'o1', 'e2');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { status: 503, code: 'no-node' },
  },
  {
    name: 'subscribe: every edge full → 503 full, not the origin',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge', { load: 100 });
      add(v, 'e2', 'edge', { load: 90 });
      link(v, 'o1', 'e1');
      link(v, 'o1', 'e2');
      v.noteHandedOut('e2', 10);
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { status: 503, code: 'full' },
  },
  {
    name: 'subscribe: group without edges → the origin itself',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 10 });
      add(v, 'e9', 'edge', { group: 'g2' }); // another group's edge does not count
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['o1'], kind: 'origin-fallback' },
  },
  {
    name: 'subscribe: group without edges, origin full → 503 full',
    setup: (v) => {
      add(v, 'o1', 'origin', { load: 100 });
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { status: 503, code: 'full' },
  },
  {
    name: 'subscribe: group has edges but none linked to the origin → 503 no-edge',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge', { state: 'pending', lastReport: null });
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { status: 503, code: 'no-edge' },
  },
  {
    name: 'subscribe: a draining origin still serves its stream through its edges',
    setup: (v) => {
      add(v, 'o1', 'origin', { state: 'draining' });
      add(v, 'e1', 'edge');
      link(v, 'o1', 'e1');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { nodes: ['e1'] },
  },
  {
    name: 'subscribe: stream not live anywhere → 404 not-live',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge');
      link(v, 'o1', 'e1');
      publish(v, 'o1', 'live', 'other');
    },
    req: { action: 'subscribe' },
    expect: { status: 404, code: 'not-live' },
  },
  {
    name: 'subscribe: same name in another scope is not the stream → 404',
    setup: (v) => {
      add(v, 'o1', 'origin');
      publish(v, 'o1', 'live2', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { status: 404, code: 'not-live' },
  },
  {
    name: 'subscribe: stream only on an edge (no publisher) → 404',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge');
      link(v, 'o1', 'e1');
      carry(v, 'e1', 'live', 'stream1', 3);
    },
    req: { action: 'subscribe' },
    expect: { status: 404, code: 'not-live' },
  },
  {
    name: 'subscribe: origin stopped reporting → 404',
    setup: (v) => {
      add(v, 'o1', 'origin', { lastReport: STALE });
      add(v, 'e1', 'edge');
      link(v, 'o1', 'e1');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe' },
    expect: { status: 404, code: 'not-live' },
  },
  {
    name: 'subscribe: endpoints=3 → three distinct edges, least loaded first',
    setup: (v) => {
      add(v, 'o1', 'origin');
      ['e1', 'e2', 'e3', 'e4'].forEach((e, i) => {
        add(v, e, 'edge', { load: [40, 10, 30, 20][i] });
        link(v, 'o1', e);
      });
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe', endpoints: 3 },
    expect: { nodes: ['e2', 'e4', 'e3'] },
  },
  {
    name: 'subscribe: endpoints=3, two edges, strict → 503 endpoints',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge');
      add(v, 'e2', 'edge');
      link(v, 'o1', 'e1');
      link(v, 'o1', 'e2');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe', endpoints: 3, strict: true },
    expect: { status: 503, code: 'endpoints' },
  },
  {
    name: 'subscribe: region prefers an edge of that region',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge', { region: 'us-1', load: 70 });
      add(v, 'e2', 'edge', { region: 'eu-1', load: 0 });
      link(v, 'o1', 'e1');
      link(v, 'o1', 'e2');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe', region: 'us-1' },
    expect: { nodes: ['e1'] },
  },
  {
    name: 'subscribe: region without an edge, strict → 503 region',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e2', 'edge', { region: 'eu-1' });
      link(v, 'o1', 'e2');
      publish(v, 'o1', 'live', 'stream1');
    },
    req: { action: 'subscribe', region: 'us-1', strict: true },
    expect: { status: 503, code: 'region' },
  },
  {
    name: 'subscribe: multi-segment scope',
    setup: (v) => {
      add(v, 'o1', 'origin');
      add(v, 'e1', 'edge');
      link(v, 'o1', 'e1');
      publish(v, 'o1', 'live/room1', 'alice');
    },
    req: { action: 'subscribe', scope: 'live/room1', name: 'alice' },
    expect: { nodes: ['e1'] },
  },
];

// Each case twice: by scan, and from the candidate heaps the view keeps once ranked (select-heaps.test.ts).
for (const c of cases) for (const heaps of [false, true]) {
  test(`${c.name}${heaps ? ' (heaps)' : ''}`, () => {
    const v = new ClusterView();
    if (heaps) v.rankCandidates(c.weights ?? DEFAULT_WEIGHTS);
    c.setup(v);
    const handedBefore = v.handOuts();
    const r = select(v, c.now ?? T0, c.weights ?? DEFAULT_WEIGHTS, { scope: 'live', name: 'stream1', ...c.req } as SelectRequest);
    if ('nodes' in c.expect) {
      if (!r.ok) assert.fail(`expected nodes, got ${JSON.stringify(r)}`);
      assert.deepEqual(
        r.slots.map((n) => n.address),
        c.expect.nodes,
      );
      if (c.expect.kind) assert.equal(r.kind, c.expect.kind);
    } else {
      assert.ok(!r.ok, `expected a refusal, got ${JSON.stringify(r.ok && r.slots.map((n) => n.address))}`);
      assert.equal(r.status, c.expect.status);
      assert.equal(r.code, c.expect.code);
      assert.ok(r.message.length > 10);
    }
    // Pure: the view is not touched.
    assert.deepEqual(v.handOuts(), handedBefore);
  });
}

test('pressure formula follows the instanceevaluator weights', () => {
  const n = node('x', { cpu: 0.2, memory: 0.8 });
  assert.equal(pressureOf(n, { ...DEFAULT_WEIGHTS, memory: 20, connections: 15 }), (20 * 0.8 + 15 * 0.2) / 35);
  assert.equal(pressureOf(node('y'), DEFAULT_WEIGHTS), 0.5);
  assert.equal(pressureOf(n, { ...DEFAULT_WEIGHTS, memory: 0, connections: 0 }), 0);
});

test('the same question gives the same answer (deterministic)', () => {
  const v = new ClusterView();
  for (let i = 0; i < 20; i++) add(v, `10.0.0.${(i * 7) % 20}`, 'origin', { load: i % 3 });
  const a = select(v, T0, DEFAULT_WEIGHTS, { action: 'broadcast', scope: 'live', name: 's', endpoints: 5 });
  for (let k = 0; k < 5; k++) {
    const b = select(v, T0, DEFAULT_WEIGHTS, { action: 'broadcast', scope: 'live', name: 's', endpoints: 5 });
    assert.deepEqual(b, a);
  }
});

test('time is an argument: a node becomes stale when now moves past two reporting periods', () => {
  const v = new ClusterView();
  add(v, 'o1', 'origin', { load: 0 });
  add(v, 'o2', 'origin', { load: 50, lastReport: T0 + 15_000 });
  const at = (now: number) => {
    const r = select(v, now, DEFAULT_WEIGHTS, { action: 'broadcast', scope: 'live', name: 's' });
    return r.ok ? r.slots[0].address : r.code;
  };
  assert.equal(at(T0 + 2 * SPEED), 'o1');
  assert.equal(at(T0 + 2 * SPEED + 1), 'o2');
});

test('a node that joins after earlier answers takes its place in the address tie-break', () => {
  const v = new ClusterView();
  add(v, '10.0.0.9', 'origin');
  add(v, '10.0.0.20', 'origin');
  const first = () => {
    const r = select(v, T0, DEFAULT_WEIGHTS, { action: 'broadcast', scope: 'live', name: 's' });
    return r.ok ? r.slots[0].address : r.code;
  };
  assert.equal(first(), '10.0.0.20', 'string order, not numeric');
  add(v, '10.0.0.1', 'origin');
  assert.equal(first(), '10.0.0.1');
});
