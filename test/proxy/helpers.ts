/** Shared pieces of the proxy tests: sim nodes, a plain HTTP server with the proxy attached, clients. */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { createWsProxy, type WsProxy, type WsProxyConfig } from '../../src/proxy/ws-proxy.ts';
import { startSimNode, type SimNode } from '../../src/sim/node-sim.ts';
import { createLogger } from '../../src/lib/logger.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { ManualClock } from '../../src/lib/manual-clock.ts';
import { within } from '../support/ws.ts';

export { client, rawSocketOf, until, within, type Client, type Frame } from '../support/ws.ts';

export const CONFIG: WsProxyConfig = { enabled: true, idleTimeout: 0, pingInterval: 30000, handshakeTimeout: 5000, maxSessions: 1000, maxSessionsPerClient: 0 };

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
    // A clock nobody advances unless the test does: the janitor, the close grace period and the shutdown
    // cutoff never fire on their own, so nothing passes by waiting out a real timer.
    clock: opts.clock ?? new ManualClock(),
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

export const proxyPath = (host: string, extra = '', app = 'live', id = 'stream1') => `/streammanager/?id=${id}&host=${host}&app=${app}${extra}`;
