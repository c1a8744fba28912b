import http from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { replySchema, type ReplyBody } from '../cluster/node-reply.ts';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.ts';
import { createLogger, type Logger } from '../lib/logger.ts';

/**
 * A fake media node speaking node protocol v1 (design §4): it answers the Server API ping, accepts
 * WebSocket sessions like a Red5 Pro node (first frame NetConnection.Connect.Success, then echo), and
 * reports its load to the manager, following what the manager's replies tell it (role, parents, speed).
 * Used by tests, the demo and operators (`npm run simulate`).
 */

/** The first frame a Red5 Pro node sends on a WebRTC signalling socket; SDKs resolve their connection on it (E16). */
export const CONNECT_SUCCESS_FRAME = '{"data":{"type":"status","code":"NetConnection.Connect.Success"}}';

export const DEFAULT_SIM_PORT = 8081;
const DEFAULT_REPORTING_SPEED = 10_000;
const DEFAULT_WS_KEEP = 100;

export interface SimNodeOptions {
  host: string;
  /** 0 = random free port. Default 8081 (not 5080: a manager on 0.0.0.0:5080 would clash). */
  port?: number;
  /** Manager base URL, e.g. http://127.0.0.1:5080. */
  manager: string;
  clusterPassword: string;
  /** Server API token (serverapi.accessToken); checked on ping when set. */
  accessToken?: string;
  clock?: Clock;
  /** Report interval until the manager's first reply says otherwise (ms). */
  reportingSpeed?: number;
  /** Sent as the report's `capacity` when set. */
  capacity?: number;
  /** Report at once and then on the reply's schedule (default true). */
  autoReport?: boolean;
  log?: Logger;
  /** How many received WebSocket frames `wsReceived` keeps (default 100). */
  wsKeep?: number;
  /** Timeout of one report or event request (ms, real time; default 5000). */
  requestTimeout?: number;
  /** Called after a reply changed status, role, group, drain or parents. */
  onStateChange?: (node: SimNode, prev: SimNodeState, next: SimNodeState) => void;
}

export interface SimNodeState {
  status: 'assigned' | 'unassigned' | 'unknown' | 'none';
  identifier: string | null;
  group: string | null;
  role: string | null;
  parents: string[];
  drain: boolean;
  reportingSpeed: number;
}

export interface SimStream {
  scope: string;
  name: string;
  publishers: number;
  subscribers: number;
}

export interface ReportBody {
  type: 'report';
  host: string;
  port: number;
  capacity?: number;
  connections: { publishers: number; subscribers: number };
  streams: SimStream[];
  links: { parent: string; state: 'established' }[];
  cpu?: number;
  memory?: number;
}

export { replySchema, type ReplyBody };

export interface WsConnectionRecord {
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Negotiated subprotocol ('' when none). */
  protocol: string;
}

export interface WsFrameRecord {
  url: string;
  binary: boolean;
  /** Text frames as strings, binary frames as Buffers. */
  data: string | Buffer;
}

/** One WHIP/WHEP request the node received (offers, PATCHes, DELETEs, OPTIONS). */
export interface WhipRecord {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** What the node answered. */
  status: number;
  answer: string;
}

interface SimWhipSession {
  kind: 'whip' | 'whep';
  app: string;
  stream: string;
  etag: string;
}

const WHIP_ENDPOINT = /^\/(.+)\/(whip|whep)\/endpoint\/([^/]+)$/;
const WHIP_RESOURCE = /^\/(.+)\/(whip|whep)\/resource\/([0-9a-f]+)$/;
const MAX_WHIP_BODY = 1024 * 1024;

/** A made-up SDP answer with one m-section per offered one (no real ICE or DTLS behind it). */
export function fakeAnswer(offer: string, host: string, kind: 'whip' | 'whep'): string {
  const direction = kind === 'whip' ? 'recvonly' : 'sendonly';
  const lines = ['v=0', `o=- ${Date.now()} 1 IN IP4 ${host}`, `s=simulated ${kind} answer`, 't=0 0', 'a=ice-lite'];
  let mid = 0;
  for (const m of offer.split(/\r?\n/)) {
    if (!m.startsWith('m=')) continue;
    lines.push(m, `c=IN IP4 ${host}`, `a=mid:${mid++}`, `a=${direction}`, 'a=ice-ufrag:sim', 'a=ice-pwd:simulatedsimulatedsimul', 'a=setup:passive');
  }
  return lines.join('\r\n') + '\r\n';
}

export class SimRequestError extends Error {
  constructor(readonly statusCode: number, readonly body: string) {
    super(`manager answered ${statusCode}: ${body.slice(0, 300)}`);
    this.name = 'SimRequestError';
  }
}

export interface SimNode {
  readonly host: string;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  /** Snapshot of what the manager last told this node. */
  readonly state: SimNodeState;
  /** Reports that got an HTTP answer (any status). */
  readonly reportsSent: number;
  readonly lastReply: ReplyBody | null;
  /** False between kill() and revive(), and after stop(). */
  readonly alive: boolean;
  readonly wsConnections: WsConnectionRecord[];
  readonly wsReceived: WsFrameRecord[];
  /** WHIP/WHEP requests received, newest last (at most `wsKeep`). */
  readonly whipRequests: WhipRecord[];
  /** WHIP/WHEP sessions open now. */
  readonly whipOpen: number;
  /** WebSocket sessions open now. */
  readonly wsOpen: number;
  /** Current streams (copies). */
  streams(): SimStream[];
  /** The report the node would send now. */
  buildReport(): ReportBody;
  /** Sends one report now; rejects on a network error or a non-2xx answer. */
  report(): Promise<ReplyBody>;
  publish(scope: string, name: string): Promise<void>;
  unpublish(scope: string, name: string): Promise<void>;
  setStreams(streams: SimStream[]): void;
  setSubscribers(scope: string, name: string, n: number): void;
  addSubscribers(n: number): void;
  setMetrics(m: { cpu?: number | null; memory?: number | null }): void;
  /** Resolves once `reportsSent` reaches `count`. */
  waitForReports(count: number): Promise<void>;
  closeAllWebSockets(code?: number): void;
  /** Simulates a crash: reporting stops, the HTTP server closes, WebSocket sessions drop. */
  kill(): Promise<void>;
  /** Undoes kill() on the same host and port. */
  revive(): Promise<void>;
  stop(): Promise<void>;
}

/** `/live`, `/live/room1`: the form design §4's report example uses. */
export function normalizeScope(scope: string): string {
  return '/' + scope.replace(/^\/+|\/+$/g, '');
}

const keyOf = (scope: string, name: string) => `${normalizeScope(scope)}\u0000${name}`;
const isLoopbackV4 = (host: string) => isIP(host) === 4 && host.startsWith('127.');
const hostnameOf = (url: string) => {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
};
const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

class SimNodeImpl implements SimNode {
  readonly host: string;
  port: number;
  reportsSent = 0;
  lastReply: ReplyBody | null = null;
  alive = false;
  readonly wsConnections: WsConnectionRecord[] = [];
  readonly wsReceived: WsFrameRecord[] = [];
  readonly whipRequests: WhipRecord[] = [];
  private readonly whipSessions = new Map<string, SimWhipSession>();

  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly manager: string;
  private readonly autoReport: boolean;
  private readonly wsKeep: number;
  private readonly requestTimeout: number;
  private readonly agent: Agent;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private readonly httpSockets = new Set<Socket>();
  private readonly streamMap = new Map<string, SimStream>();
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private server: http.Server | null = null;
  private timer: TimerHandle | undefined;
  private extraSubscribers = 0;
  private cpu: number | null = null;
  private memory: number | null = null;
  private stopped = false;
  private failing = false;
  private readonly startedAt: number;
  private current: SimNodeState;

  constructor(private readonly opts: SimNodeOptions) {
    this.host = opts.host;
    this.port = opts.port ?? DEFAULT_SIM_PORT;
    this.clock = opts.clock ?? systemClock;
    this.manager = opts.manager.replace(/\/+$/, '');
    // A real node reports from its own address (the manager pins it, cluster.reportSourceCheck): on loopback
    // each simulated node sends from its 127.0.0.x.
    const localAddress = isLoopbackV4(opts.host) && isLoopbackV4(hostnameOf(this.manager)) ? opts.host : undefined;
    this.agent = new Agent({ keepAliveTimeout: 4_000, connections: 4, ...(localAddress ? { localAddress } : {}) });
    this.autoReport = opts.autoReport ?? true;
    this.wsKeep = opts.wsKeep ?? DEFAULT_WS_KEEP;
    this.requestTimeout = opts.requestTimeout ?? 5_000;
    this.log = (opts.log ?? createLogger('silent')).child({ component: 'node-sim', host: opts.host });
    this.startedAt = this.clock.now();
    this.current = {
      status: 'none',
      identifier: null,
      group: null,
      role: null,
      parents: [],
      drain: false,
      reportingSpeed: opts.reportingSpeed ?? DEFAULT_REPORTING_SPEED,
    };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 16 * 1024 * 1024,
      // Red5 Pro signalling offers `json`; honour it, else take the client's first offer.
      handleProtocols: (protocols) => (protocols.has('json') ? 'json' : (protocols.values().next().value ?? false)),
    });
    this.wss.on('connection', (ws, req) => this.onWebSocket(ws, req));
  }

  get url() {
    return `http://${urlHost(this.host)}:${this.port}`;
  }
  get state(): SimNodeState {
    return { ...this.current, parents: [...this.current.parents] };
  }
  get wsOpen() {
    return this.sockets.size;
  }
  get whipOpen() {
    return this.whipSessions.size;
  }

  // ---- HTTP and WebSocket side (what the manager and clients reach)

  async listen(): Promise<void> {
    const server = http.createServer((req, res) => this.onHttp(req, res));
    server.on('connection', (s) => {
      this.httpSockets.add(s);
      s.on('close', () => this.httpSockets.delete(s));
    });
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.alive = true;
    this.log.info({ port: this.port }, 'simulated node listening');
  }

  private onHttp(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://node');
    const send = (code: number, status: string, data: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status, code, data, timestamp: this.clock.now() }));
    };
    if (req.method === 'GET' && /^\/api\/[^/]+\/server\/ping\/?$/.test(url.pathname)) {
      if (this.opts.accessToken && url.searchParams.get('accessToken') !== this.opts.accessToken) {
        return send(401, 'error', 'Invalid or missing accessToken');
      }
      return send(200, 'success', {
        host: this.host,
        port: this.port,
        simulated: true,
        uptime: this.clock.now() - this.startedAt,
        role: this.current.role,
        group: this.current.group,
      });
    }
    if (WHIP_ENDPOINT.test(url.pathname) || WHIP_RESOURCE.test(url.pathname)) return this.onWhip(req, res, url.pathname);
    send(404, 'error', `No such resource ${url.pathname}`);
  }

  /**
   * WHIP/WHEP as a Red5 Pro node serves them: POST an SDP offer to `/<app>/whip|whep/endpoint/<stream>`,
   * get 201 with a fake answer, an ETag, ICE servers in Link and the session in Location; PATCH (If-Match),
   * DELETE and OPTIONS on that session. A WHIP session publishes the stream (the next report carries it);
   * a WHEP session counts as one subscriber.
   */
  private onWhip(req: http.IncomingMessage, res: http.ServerResponse, path: string) {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_WHIP_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answer = (status: number, headers: Record<string, string> = {}, text = '') => {
        res.writeHead(status, { ...(text ? { 'content-length': Buffer.byteLength(text) } : {}), ...headers });
        res.end(text);
        this.whipRequests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body, status, answer: text });
        if (this.whipRequests.length > this.wsKeep) this.whipRequests.splice(0, this.whipRequests.length - this.wsKeep);
      };
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const endpoint = WHIP_ENDPOINT.exec(path);
      if (endpoint) {
        if (req.method === 'OPTIONS') return answer(204, { 'accept-post': 'application/sdp' });
        if (req.method !== 'POST') return answer(405, { allow: 'POST, OPTIONS' });
        if (type !== 'application/sdp') return answer(415, { 'content-type': 'text/plain' }, 'expected application/sdp');
        if (!body.startsWith('v=0')) return answer(400, { 'content-type': 'text/plain' }, 'not an SDP offer');
        const [, app, kind, rawStream] = endpoint;
        const stream = decodeURIComponent(rawStream);
        const id = randomBytes(8).toString('hex');
        const etag = `"${randomBytes(4).toString('hex')}"`;
        this.whipSessions.set(id, { kind: kind as 'whip' | 'whep', app, stream, etag });
        if (kind === 'whip') this.setStream(app, stream, 1, 0);
        else this.setStream(app, stream, 0, 1);
        return answer(
          201,
          {
            'content-type': 'application/sdp',
            etag,
            link: `<stun:${this.host}:3478>; rel="ice-server"`,
            location: `/${app}/${kind}/resource/${id}`,
          },
          fakeAnswer(body, this.host, kind as 'whip' | 'whep'),
        );
      }
      const [, , , id] = WHIP_RESOURCE.exec(path)!;
      const s = this.whipSessions.get(id);
      if (!s) return answer(404, { 'content-type': 'text/plain' }, 'no such session');
      if (req.method === 'OPTIONS') return answer(204, { 'accept-patch': 'application/trickle-ice-sdpfrag' });
      if (req.method === 'DELETE') {
        this.whipSessions.delete(id);
        if (s.kind === 'whip') this.streamMap.delete(keyOf(s.app, s.stream));
        else this.setStream(s.app, s.stream, 0, -1);
        return answer(200);
      }
      if (req.method !== 'PATCH') return answer(405, { allow: 'PATCH, DELETE, OPTIONS' });
      const ifMatch = req.headers['if-match'];
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== s.etag) return answer(412, { etag: s.etag });
      if (type !== 'application/trickle-ice-sdpfrag') return answer(415, { 'content-type': 'text/plain' }, 'expected application/trickle-ice-sdpfrag');
      return answer(204, { etag: s.etag });
    });
  }

  /** Adds publishers/subscribers to a stream (never below zero). */
  private setStream(scope: string, name: string, publishers: number, subscribers: number) {
    const k = keyOf(scope, name);
    const s = this.streamMap.get(k) ?? { scope: normalizeScope(scope), name, publishers: 0, subscribers: 0 };
    this.streamMap.set(k, { ...s, publishers: Math.max(s.publishers, publishers), subscribers: Math.max(0, s.subscribers + subscribers) });
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer) {
    const path = new URL(req.url ?? '/', 'http://node').pathname;
    // Red5 Pro apps live at /<app>[/<context>]; the root is not a WebSocket endpoint.
    if (!/^\/[^/]+/.test(path)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  private onWebSocket(ws: WebSocket, req: http.IncomingMessage) {
    const url = req.url ?? '/';
    this.sockets.add(ws);
    this.wsConnections.push({ url, headers: { ...req.headers }, protocol: ws.protocol });
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', (err) => this.log.debug({ err }, 'websocket error'));
    ws.send(CONNECT_SUCCESS_FRAME);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.wsReceived.push({ url, binary: isBinary, data: isBinary ? buf : buf.toString('utf8') });
      if (this.wsReceived.length > this.wsKeep) this.wsReceived.splice(0, this.wsReceived.length - this.wsKeep);
      // Echo unchanged: text stays text, binary stays binary.
      ws.send(buf, { binary: isBinary });
    });
  }

  closeAllWebSockets(code = 1001) {
    for (const ws of this.sockets) ws.close(code);
  }

  // ---- load

  streams(): SimStream[] {
    return [...this.streamMap.values()].map((s) => ({ ...s }));
  }

  setStreams(streams: SimStream[]) {
    this.streamMap.clear();
    for (const s of streams) this.streamMap.set(keyOf(s.scope, s.name), { ...s, scope: normalizeScope(s.scope) });
  }

  setSubscribers(scope: string, name: string, n: number) {
    const k = keyOf(scope, name);
    const s = this.streamMap.get(k) ?? { scope: normalizeScope(scope), name, publishers: 0, subscribers: 0 };
    this.streamMap.set(k, { ...s, subscribers: Math.max(0, Math.trunc(n)) });
  }

  addSubscribers(n: number) {
    this.extraSubscribers = Math.max(0, this.extraSubscribers + Math.trunc(n));
  }

  setMetrics(m: { cpu?: number | null; memory?: number | null }) {
    if (m.cpu !== undefined) this.cpu = m.cpu;
    if (m.memory !== undefined) this.memory = m.memory;
  }

  buildReport(): ReportBody {
    const streams = this.streams();
    const publishers = streams.reduce((a, s) => a + s.publishers, 0);
    const subscribers = streams.reduce((a, s) => a + s.subscribers, 0) + this.extraSubscribers;
    const body: ReportBody = {
      type: 'report',
      host: this.host,
      port: this.port,
      connections: { publishers, subscribers },
      streams,
      // Every parent the manager handed out is reported linked: the simulated cluster link always succeeds.
      links: this.current.parents.map((parent) => ({ parent, state: 'established' as const })),
    };
    if (this.opts.capacity !== undefined) body.capacity = this.opts.capacity;
    if (this.cpu !== null) body.cpu = this.cpu;
    if (this.memory !== null) body.memory = this.memory;
    return body;
  }

  // ---- manager side (reports and events)

  private async post(body: unknown): Promise<{ statusCode: number; text: string }> {
    const res = await request(`${this.manager}/streammanager/cloudwatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.opts.clusterPassword}` },
      body: JSON.stringify(body),
      dispatcher: this.agent,
      signal: AbortSignal.timeout(this.requestTimeout),
    });
    const text = await res.body.text();
    return { statusCode: res.statusCode, text };
  }

  async report(): Promise<ReplyBody> {
    if (!this.alive) throw new Error(`simulated node ${this.host} is not running`);
    let res: { statusCode: number; text: string };
    try {
      res = await this.post(this.buildReport());
    } catch (err) {
      this.noteFailure(err);
      throw err;
    }
    this.reportsSent++;
    try {
      if (res.statusCode < 200 || res.statusCode >= 300) throw new SimRequestError(res.statusCode, res.text);
      const reply = replySchema.parse(JSON.parse(res.text));
      this.apply(reply);
      if (this.failing) this.log.info('manager reachable again');
      this.failing = false;
      return reply;
    } catch (err) {
      this.noteFailure(err);
      throw err;
    } finally {
      this.notifyWaiters();
    }
  }

  private noteFailure(err: unknown) {
    // One warning per outage, not one per report.
    if (!this.failing) this.log.warn({ err: (err as Error).message }, 'report failed; retrying on schedule');
    this.failing = true;
  }

  private apply(reply: ReplyBody) {
    const prev = this.current;
    const next: SimNodeState = {
      status: reply.status,
      identifier: reply.identifier ?? null,
      group: reply.group ?? null,
      role: reply.role ?? null,
      parents: [...(reply.parents ?? [])],
      drain: reply.drain ?? false,
      reportingSpeed: reply.reportingSpeed ?? prev.reportingSpeed,
    };
    this.current = next;
    this.lastReply = reply;
    const changed =
      prev.status !== next.status ||
      prev.role !== next.role ||
      prev.group !== next.group ||
      prev.drain !== next.drain ||
      prev.parents.join(',') !== next.parents.join(',');
    if (changed) {
      this.log.info({ status: next.status, role: next.role, group: next.group, drain: next.drain, parents: next.parents }, 'manager changed this node');
      this.opts.onStateChange?.(this, { ...prev }, this.state);
    }
    // The reply sets the pace of the next report (it may have changed).
    this.schedule(next.reportingSpeed);
  }

  private schedule(ms: number) {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.autoReport || !this.alive) return;
    this.timer = this.clock.setTimeout(() => void this.tick(), ms);
  }

  private async tick() {
    this.timer = undefined;
    try {
      await this.report();
    } catch {
      // Already logged; try again after the current interval.
      this.schedule(this.current.reportingSpeed);
    }
  }

  private async sendEvent(type: 'publish' | 'unpublish', scope: string, name: string) {
    if (!this.alive) throw new Error(`simulated node ${this.host} is not running`);
    const res = await this.post({ type, host: this.host, scope: normalizeScope(scope), name });
    if (res.statusCode < 200 || res.statusCode >= 300) throw new SimRequestError(res.statusCode, res.text);
  }

  async publish(scope: string, name: string) {
    const k = keyOf(scope, name);
    const s = this.streamMap.get(k);
    this.streamMap.set(k, { scope: normalizeScope(scope), name, publishers: Math.max(1, s?.publishers ?? 0), subscribers: s?.subscribers ?? 0 });
    await this.sendEvent('publish', scope, name);
  }

  async unpublish(scope: string, name: string) {
    this.streamMap.delete(keyOf(scope, name));
    await this.sendEvent('unpublish', scope, name);
  }

  waitForReports(count: number): Promise<void> {
    if (this.reportsSent >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  private notifyWaiters() {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.reportsSent >= this.waiters[i].count) this.waiters.splice(i, 1)[0].resolve();
    }
  }

  // ---- life cycle

  startReporting() {
    if (this.autoReport && this.alive) void this.tick();
  }

  async kill() {
    if (!this.alive) return;
    this.alive = false;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.whipSessions.clear();
    const server = this.server;
    this.server = null;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.httpSockets) s.destroy();
      server.closeAllConnections();
      await closed;
    }
    this.log.info('simulated node killed');
  }

  async revive() {
    if (this.stopped) throw new Error(`simulated node ${this.host} was stopped`);
    if (this.alive) return;
    await this.listen();
    this.startReporting();
  }

  async stop() {
    if (this.stopped) return;
    await this.kill();
    this.stopped = true;
    this.wss.close();
    await this.agent.destroy();
  }
}

export async function startSimNode(opts: SimNodeOptions): Promise<SimNode> {
  const node = new SimNodeImpl(opts);
  await node.listen();
  node.startReporting();
  return node;
}

/** Starts `n` nodes on 127.0.0.<firstHost>, 127.0.0.<firstHost+1>, ... (firstHost default 2). */
export async function startSimCluster(n: number, opts: Omit<SimNodeOptions, 'host'> & { firstHost?: number }): Promise<SimNode[]> {
  const first = opts.firstHost ?? 2;
  if (!Number.isInteger(n) || n < 1) throw new Error('the cluster needs at least one node');
  if (first < 1 || first + n - 1 > 254) throw new Error(`127.0.0.${first} + ${n} nodes leaves 127.0.0.1-254`);
  const { firstHost: _ignored, ...nodeOpts } = opts;
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => startSimNode({ ...nodeOpts, host: `127.0.0.${first + i}` })));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const nodes = results.filter((r): r is PromiseFulfilledResult<SimNode> => r.status === 'fulfilled').map((r) => r.value);
  if (failed) {
    await Promise.all(nodes.map((x) => x.stop()));
    throw failed.reason;
  }
  return nodes;
}
