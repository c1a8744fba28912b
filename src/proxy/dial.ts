/**
 * The upstream half of a proxy session: opens the WebSocket handshake to the node with http.request and
 * hands back the raw upgraded socket. Frames are never parsed afterwards (see session.ts).
 *
 * Why hand-rolled instead of http-proxy's ws mode: http-proxy copies every client header upstream
 * (Cookie, Authorization, Host), has no handshake timeout, and reports a refused handshake by piping
 * the node's raw response to the client; here the handshake is checked (101, Upgrade, Sec-WebSocket-Accept,
 * chosen subprotocol) before anything reaches the client, headers are exactly the classic set, and failures
 * become the proxy's own JSON refusals. The joined-socket data path is the same idea as http-proxy's.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { createHash } from 'node:crypto';
import type { Clock, TimerHandle } from '../lib/clock.ts';
import type { Refusal } from './upstream-url.ts';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface Upgraded {
  socket: Socket;
  /** Bytes the node sent right after its 101 (often its first status frame). */
  head: Buffer;
  /** The 101 to send to the client (the node's accept, subprotocol and extensions). */
  response: string;
}

export interface DialOptions {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  /** The client's offered subprotocols, to check the node's choice. */
  offered?: string;
  timeoutMs: number;
  clock: Clock;
}

export const acceptFor = (key: string) => createHash('sha1').update(key + WS_GUID).digest('base64');

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Starts the handshake; `done` is called exactly once unless the returned abort function runs first. */
export function dialUpstream(o: DialOptions, done: (err: Refusal | null, up?: Upgraded) => void): () => void {
  let finished = false;
  let timer: TimerHandle | undefined;
  const finish = (err: Refusal | null, up?: Upgraded) => {
    if (finished) return;
    finished = true;
    o.clock.clearTimeout(timer);
    done(err, up);
  };

  let req: http.ClientRequest;
  try {
    req = http.request({ host: o.host, port: o.port, path: o.path, method: 'GET', headers: o.headers, agent: false });
  } catch {
    // Header values the HTTP client refuses (checkClientHandshake should have caught them).
    queueMicrotask(() => finish({ status: 400, message: 'The request cannot be forwarded to the node.' }));
    return () => {};
  }

  timer = o.clock.setTimeout(() => {
    req.destroy();
    finish({ status: 504, message: `The node did not accept the WebSocket within ${o.timeoutMs} ms.` });
  }, o.timeoutMs);

  req.on('upgrade', (res, socket: Socket, head: Buffer) => {
    const why = checkResponse(res.headers, single(o.headers['Sec-WebSocket-Key'])!, o.offered);
    if (why || finished) {
      socket.destroy();
      return finish({ status: 502, message: `The node answered with an invalid WebSocket handshake (${why ?? 'late'}).` });
    }
    finish(null, { socket, head, response: switchingProtocols(res.headers) });
  });
  req.on('response', (res) => {
    res.resume();
    req.destroy();
    const code = res.statusCode ?? 502;
    // A 4xx from the node (unknown app, failed validation) is the client's business: pass the status on.
    finish({ status: code >= 400 && code < 500 ? code : 502, message: `The node answered ${code} instead of accepting the WebSocket.` });
  });
  req.on('error', () => finish({ status: 502, message: 'The node could not be reached.' }));
  req.end();

  return () => {
    if (finished) return;
    finished = true;
    o.clock.clearTimeout(timer);
    req.destroy();
  };
}

function checkResponse(h: IncomingHttpHeaders, key: string, offered: string | undefined): string | undefined {
  if ((single(h.upgrade) ?? '').toLowerCase() !== 'websocket') return 'Upgrade header';
  if (single(h['sec-websocket-accept']) !== acceptFor(key)) return 'Sec-WebSocket-Accept';
  const chosen = single(h['sec-websocket-protocol']);
  if (chosen !== undefined) {
    const list = (offered ?? '').split(',').map((p) => p.trim());
    if (!list.includes(chosen.trim())) return 'subprotocol not offered';
  }
  return undefined;
}

function switchingProtocols(h: IncomingHttpHeaders): string {
  let s = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';
  s += `Sec-WebSocket-Accept: ${single(h['sec-websocket-accept'])}\r\n`;
  const p = single(h['sec-websocket-protocol']);
  if (p !== undefined) s += `Sec-WebSocket-Protocol: ${p}\r\n`;
  const e = h['sec-websocket-extensions'];
  if (e !== undefined) s += `Sec-WebSocket-Extensions: ${Array.isArray(e) ? e.join(', ') : e}\r\n`;
  return s + '\r\n';
}
