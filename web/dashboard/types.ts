import type { overview } from '../../src/http/routes/overview.ts';

/** What GET /admin/overview answers (the server's own type, so the page follows its changes at compile time). */
export type Overview = ReturnType<typeof overview>;
export type Group = Overview['groups'][number];
export type RoleLoad = Group['roles'][number];
export type NodeRow = Group['nodes'][number];
export type StreamRow = Overview['streams'][number];

export interface ScaleEvent {
  id?: number;
  at: number;
  kind: string;
  role: string | null;
  node: string | null;
  reason: string;
  data: Record<string, unknown>;
}

export interface Provision {
  host: string;
  port?: number;
  location: string;
  instanceType: string;
  state: string;
  nodeId?: string | null;
}
