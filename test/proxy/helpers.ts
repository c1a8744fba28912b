/** Shared pieces of the proxy tests: sim nodes, a plain HTTP server with the proxy attached, clients. */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { WebSocket, type ClientOptions } from 'ws';
import { createWsProxy, type WsProxy, type WsProxyConfig } from '../../src/proxy/ws-proxy.ts';
import { startSimNode, type SimNode } from '../../src/sim/node-sim.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { systemClock, type Clock } from '../../src/lib/clock.ts';

export const CONFIG: WsProxyConfig = { enabled: true, idleTimeout: 0, pingInterval: 30000, handshakeTimeout: 5000, maxSessions: 1000 };

export async function simNode(t: TestContext, host = '127.0.0.2'): Promise<SimNode> {
  const n = await startSimNode({ host, port: 0, manager: 'http://127.0.0.1:1', clusterPassword: 'x', autoReport: false });
  t.after(() => n.stop());
  return n;
}

/** A resolver that knows exactly these nodes, and records every host it was asked about. */
export function resolverOf(nodes: Array<{ host: string; port: number }>) {
  const asked: string[] = [];
  const fn = (host: string) => {
    asked.push(host);
    const n = nodes.find((x) => x.host === host);
    return n ? { host: n.host, port: n.port } : null;
  };
  return Object.assign(fn, { asked });
}

export interface ProxyRig {
  proxy: WsProxy;
  server: http.Server;
  port: number;
  url(pathAndQuery: string): string;
}

/** A plain HTTP server on 127.0.0.1 with the proxy attached (the lead attaches it to Fastify's server). */
export async function proxyRig(
  t: TestContext,
  opts: { resolveTarget: (h: string) => { host: string; port: number } | null; config?: Partial<WsProxyConfig>; clock?: Clock },
): Promise<ProxyRig> {
  const proxy = createWsProxy({
    config: { ...CONFIG, ...opts.config },
    log: createLogger('silent'),
    clock: opts.clock ?? systemClock,
    resolveTarget: opts.resolveTarget,
  });
  const server = http.createServer((_req, res) => res.end('plain http'));
  proxy.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    const done = proxy.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    // Peers answer the close handshake, so this settles on I/O; `within` only guards against a hang.
    await within(done, 'the proxy to close its sessions');
  });
  const port = (server.address() as AddressInfo).port;
  return { proxy, server, port, url: (p) => `ws://127.0.0.1:${port}${p}` };
}

export interface Client {
  ws: WebSocket;
  frames: { data: Buffer; binary: boolean }[];
  /** Resolves with the n-th frame (1-based count of frames received). */
  frame(n: number): Promise<{ data: Buffer; binary: boolean }>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a client and collects every frame from the start (so the node's first frame is never missed). */
export function client(url: string, protocols?: string[], options?: ClientOptions): Promise<Client> {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, handshakeTimeout: 5000, ...options });
  const frames: Client['frames'] = [];
  const wake: (() => void)[] = [];
  ws.on('message', (data, binary) => {
    frames.push({ data: data as Buffer, binary });
    for (const w of wake.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const frame = async (n: number) => {
    const wait = (async () => {
      while (frames.length < n) await new Promise<void>((r) => wake.push(r));
      return frames[n - 1];
    })();
    return within(wait, `frame ${n}`, 10000);
  };
  const c: Client = {
    ws,
    frames,
    frame,
    // Timed from the moment a test waits for it, so a missing close fails the test instead of hanging it.
    get closed() {
      return within(closed, 'the client socket to close');
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(c));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected ${res.statusCode}`)));
  });
}

export interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** Sends a hand-written upgrade request (malformed ones included) and reads the whole answer. */
export function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}, opts: { omit?: string[] } = {}): Promise<RawAnswer> {
  const h: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  };
  for (const k of opts.omit ?? []) delete h[k];
  const text = `GET ${path} HTTP/1.1\r\n` + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    // A proxy that never answers must fail the test, not hang it.
    s.setTimeout(5000, () => s.destroy(new Error(`no answer to the upgrade of ${path.slice(0, 60)}`)));
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const all = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = all.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, headers: head, body: Buffer.from(rest.join('\r\n\r\n'), 'latin1').toString('utf8') });
    });
    s.write(text);
  });
}

/**
 * Counts outgoing TCP connects other than to the given ports (the test's own connections to the proxy),
 * so a test can prove that a refused request never dialled anything.
 */
export function dialSpy(t: TestContext, ignorePorts: number[]) {
  const dials: unknown[] = [];
  const proto = net.Socket.prototype as unknown as { connect: (...a: unknown[]) => unknown };
  const original = proto.connect;
  proto.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = args[0] as unknown;
    const opts = (Array.isArray(first) ? first[0] : first) as { port?: number } | number;
    const port = typeof opts === 'number' ? opts : Number(opts?.port);
    if (!ignorePorts.includes(port)) dials.push(args[0]);
    return original.apply(this, args);
  };
  const restore = () => {
    proto.connect = original;
  };
  t.after(restore);
  return { dials, restore };
}

/** Waits (bounded) for a condition that depends on socket I/O finishing. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r)); // let socket I/O run; no timer
  }
}

export const proxyPath = (host: string, extra = '', app = 'live', id = 'stream1') => `/streammanager/?id=${id}&host=${host}&app=${app}${extra}`;

/** Fails instead of hanging when a promise that the feature should settle never does. */
export function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
