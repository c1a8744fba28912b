import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const STOCK_CLUSTER_XML = new URL('../fixtures/red5pro-cluster.xml', import.meta.url).pathname;

/**
 * A fake Red5 Pro node on a loopback address: only the Server API answers the reference documents
 * (red5-node-api.md §2), in its `{status, code, data, timestamp}` envelope, 401 on a wrong token, plus a
 * Red5 home holding a stock conf/cluster.xml.
 */
export interface FakeRed5 {
  host: string;
  port: number;
  /** Server API base, for --red5. */
  base: string;
  home: string;
  clusterXml: string;
  /** app → stream name → active subscribers */
  streams: Map<string, Map<string, number>>;
  activeConnections: number;
  setStream(app: string, name: string, subscribers: number): void;
  removeStream(app: string, name: string): void;
  /** Stops answering (connections refused), as a crashed or stopped Red5 does. */
  down(): Promise<void>;
  up(): Promise<void>;
}

export async function startFakeRed5(t: TestContext, host: string, token: string, port = 0): Promise<FakeRed5> {
  const home = mkdtempSync(join(tmpdir(), 'red5pro-'));
  mkdirSync(join(home, 'conf'));
  const clusterXml = join(home, 'conf', 'cluster.xml');
  copyFileSync(STOCK_CLUSTER_XML, clusterXml);
  let server: http.Server | null = null;
  const sockets = new Set<Socket>();

  const f: FakeRed5 = {
    host,
    port,
    base: '',
    home,
    clusterXml,
    streams: new Map([['live', new Map()]]),
    activeConnections: 0,
    setStream(app, name, subscribers) {
      if (!f.streams.has(app)) f.streams.set(app, new Map());
      f.streams.get(app)!.set(name, subscribers);
    },
    removeStream(app, name) {
      f.streams.get(app)?.delete(name);
    },
    async up() {
      const s = http.createServer(handle);
      s.on('connection', (c) => {
        sockets.add(c);
        c.on('close', () => sockets.delete(c));
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(f.port, host, () => resolve());
      });
      f.port = (s.address() as AddressInfo).port;
      f.base = `http://${host}:${f.port}`;
      server = s;
    },
    async down() {
      const s = server;
      server = null;
      if (!s) return;
      const closed = new Promise<void>((r) => s.close(() => r()));
      for (const c of sockets) c.destroy();
      await closed;
    },
  };

  function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://node');
    const send = (code: number, body: object) => {
      res.writeHead(code, { 'content-type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify({ ...body, timestamp: Date.now() }));
    };
    const ok = (data: unknown) => send(200, { status: 'success', code: 200, data });
    const error = (code: number, message: string) => send(code, { status: 'error', code, message });
    if (req.method !== 'GET') return error(400, 'Unsupported method');
    if (url.searchParams.get('accessToken') !== token) return error(401, 'Unauthorized');
    const p = url.pathname.replace(/^\/api\/v1/, '').split('/').filter(Boolean).map(decodeURIComponent);
    const live = [...f.streams.values()].reduce((a, m) => a + m.size, 0);
    if (p.join('/') === 'server/ping') return ok(Date.now());
    if (p.join('/') === 'server/statistics') {
      return ok({
        red5_pro_version: '14.2.0.0', fms_version: '3,5,0,1', up_time: 3_600_000, os_name: 'Linux', os_version: '6.1.0',
        processors: 2, architecture: 'amd64', total_memory: 1_073_741_824, max_memory: 2_147_483_648, free_memory: 536_870_912,
        num_apps: f.streams.size + 1, active_sub_scopes: 0, total_sub_scopes: 0, max_sub_scopes: 0,
        total_connections: f.activeConnections + live, active_connections: f.activeConnections + live, max_connections: 50,
        bytes_in: 0, bytes_out: 0, messages_in: 0, messages_out: 0, data_unit: 'b',
      });
    }
    if (p.length === 1 && p[0] === 'applications') return ok(['api', ...f.streams.keys()]);
    const app = p[0] === 'applications' ? f.streams.get(p[1]) : undefined;
    if (app && p[2] === 'streams' && p.length === 3) return ok([...app.keys()]);
    if (app && p[2] === 'streams' && p.length === 4 && app.has(p[3])) {
      return ok({
        bytes_received: 1000, active_subscribers: app.get(p[3]), total_subscribers: app.get(p[3]), max_subscribers: app.get(p[3]),
        id: 1, name: p[3], publish_name: p[3], creation_time: 1_700_000_000_000, scope_path: `/default/${p[1]}`, is_recording: false, state: 'PUBLISHING',
      });
    }
    error(404, `No such resource ${url.pathname}`);
  }

  await f.up();
  t.after(async () => {
    await f.down();
    rmSync(home, { recursive: true, force: true });
  });
  return f;
}
