/**
 * Pure part of the WebSocket proxy: reads the client's upgrade request (path, query, headers), validates
 * it, and builds the upstream path and handshake headers. No I/O here, so every rule is unit-tested
 * without sockets (test/proxy/upstream-url.test.ts).
 *
 * Wire contract (reference/classic-api.md §5, clients.md E15): the SDK opens
 *   ws(s)://<sm>/streammanager[/<context>]?id=<id>&host=<node>&app=<scope>&<more k=v, values encodeURIComponent'd>
 * and the node must see
 *   ws://<node>:<port>/<app>[/<context>]?id=<id>&<more, decoded once and re-encoded, original order>
 */
import { STATUS_CODES } from 'node:http';
import { isIPv6 } from 'node:net';

export const PROXY_PATH = '/streammanager';

/** One `app` or `context` path segment: what Red5 scope names use. Anything else could smuggle `?`, `#`, `%`, CR/LF or `..` upstream. */
const SEGMENT = /^[A-Za-z0-9_.~-]+$/;
/** A DNS name or an IPv4 literal (IPv6 literals are checked with isIPv6). Checked before the resolver sees it. */
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
/** RFC 6455 §4.1: a base64-encoded 16-byte nonce. */
const WS_KEY = /^[A-Za-z0-9+/]{22}==$/;
/** RFC 6455 / RFC 7230 token lists (subprotocols, extension offers): printable ASCII without CTLs. */
const HEADER_LIST = /^[\x20-\x7e]*$/;

export const LIMITS = { params: 100, query: 8192, name: 254, host: 253 } as const;

export interface ProxyTarget {
  /** The `host` parameter: the node the client wants (lower-cased, IPv6 brackets removed). */
  host: string;
  /** The `app` parameter without leading/trailing slashes; may hold several segments (`live/room1`). */
  app: string;
  /** The path below /streammanager/, if any. */
  context?: string;
  /** The `id` parameter (stream name or subscription id); optional because the node decides what it needs. */
  id?: string;
  /** Every other parameter, decoded once, in the client's order. */
  params: Array<[string, string]>;
}

export type Refusal = { status: number; message: string; headers?: Record<string, string> };
export type Parsed<T> = { ok: true; value: T } | ({ ok: false } & Refusal);

const refuse = (status: number, message: string, headers?: Record<string, string>): { ok: false } & Refusal => ({
  ok: false,
  status,
  message,
  ...(headers ? { headers } : {}),
});

/** True for `/streammanager`, `/streammanager/` and `/streammanager/<anything>` (query ignored). */
export function isProxyPath(url: string): boolean {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path === PROXY_PATH || path.startsWith(PROXY_PATH + '/');
}

/** Decodes one query component the way servlet containers do (`+` is a space), or undefined when malformed. */
function decodeComponent(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.includes('+') ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    return undefined;
  }
}

/** Splits `a/b/c`, checking every segment; undefined when a segment is empty, `.`/`..` or holds other characters. */
export function cleanPath(value: string): string | undefined {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  if (!trimmed || trimmed.length > LIMITS.name) return undefined;
  for (const seg of trimmed.split('/')) {
    if (!SEGMENT.test(seg) || seg === '.' || seg === '..') return undefined;
  }
  return trimmed;
}

/** Normalises the `host` parameter, or undefined when it cannot be a host name or address. */
export function cleanHost(value: string): string | undefined {
  let h = value.trim().toLowerCase();
  if (!h || h.length > LIMITS.host) return undefined;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.includes(':')) return isIPv6(h) ? h : undefined;
  return HOSTNAME.test(h) && !h.includes('..') ? h : undefined;
}

/**
 * Reads path and query of an upgrade on the proxy path. Refusals carry the HTTP status to answer with
 * (400 for anything malformed or missing) and a message that tells the client what to fix.
 */
export function parseProxyUrl(url: string): Parsed<ProxyTarget> {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  if (!isProxyPath(path)) return refuse(404, `No WebSocket endpoint at ${path}; the proxy listens on ${PROXY_PATH}/.`);

  let context: string | undefined;
  const rest = path.slice(PROXY_PATH.length).replace(/^\/+/, '');
  if (rest) {
    const decoded = decodeComponent(rest.replace(/\+/g, '%2B')); // '+' is literal in a path
    context = decoded === undefined ? undefined : cleanPath(decoded);
    if (!context) return refuse(400, `Invalid context in the path; use letters, digits, '.', '_', '~' or '-' segments.`);
  }

  if (query.length > LIMITS.query) return refuse(414, `The query string is longer than ${LIMITS.query} characters.`);
  const pieces = query.split('&');
  if (pieces.length > LIMITS.params) return refuse(400, `Too many query parameters (more than ${LIMITS.params}).`);

  let id: string | undefined;
  let host: string | undefined;
  let app: string | undefined;
  const params: Array<[string, string]> = [];
  for (const piece of pieces) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    const key = decodeComponent(eq < 0 ? piece : piece.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(piece.slice(eq + 1));
    if (key === undefined || value === undefined) {
      return refuse(400, 'Malformed query string: a parameter has an invalid percent-encoding.');
    }
    if (key === 'id' || key === 'host' || key === 'app') {
      if ((key === 'id' ? id : key === 'host' ? host : app) !== undefined) return refuse(400, `Parameter ${key} is given more than once.`);
      if (key === 'id') id = value;
      else if (key === 'host') host = value;
      else app = value;
      continue;
    }
    if (!key) return refuse(400, 'Malformed query string: a parameter has an empty name.');
    params.push([key, value]);
  }

  if (host === undefined || host.trim() === '') return refuse(400, 'Missing parameter host: the node address the broker returned (serverAddress).');
  if (app === undefined || app.trim() === '') return refuse(400, 'Missing parameter app: the scope without its leading slash, e.g. app=live.');
  const cleanH = cleanHost(host);
  if (!cleanH) return refuse(400, 'Invalid parameter host: give a node address or host name.');
  const cleanA = cleanPath(app);
  if (!cleanA) return refuse(400, `Invalid parameter app; use letters, digits, '.', '_', '~' or '-' segments separated by '/'.`);
  return { ok: true, value: { host: cleanH, app: cleanA, ...(context ? { context } : {}), ...(id !== undefined ? { id } : {}), params } };
}

/** `/<app>[/<context>]?id=<id>&<the rest>`: id first, then the others in the client's order, each re-encoded once. */
export function upstreamPath(t: ProxyTarget): string {
  let path = '/' + t.app + (t.context ? '/' + t.context : '');
  const parts: string[] = [];
  if (t.id !== undefined) parts.push('id=' + encodeURIComponent(t.id));
  for (const [k, v] of t.params) parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
  if (parts.length) path += '?' + parts.join('&');
  return path;
}

type Headers = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(', ') : v);

/** What the proxy knows about the client, for the forwarding headers and the session listing. */
export interface ClientMeta {
  address: string;
  port: number;
  /** WEB when the request has an Origin header or a browser User-Agent, else DIRECT. */
  type: 'WEB' | 'DIRECT';
  secure: boolean;
  userAgent?: string;
}

/** Node reports IPv4 clients of a dual-stack socket as `::ffff:a.b.c.d`; nodes expect the plain address. */
export function plainAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function clientMeta(headers: Headers, socket: { remoteAddress?: string; remotePort?: number; encrypted?: boolean }): ClientMeta {
  const ua = one(headers['user-agent']);
  const proto = one(headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase();
  return {
    address: plainAddress(socket.remoteAddress),
    port: socket.remotePort ?? 0,
    type: headers.origin !== undefined || (ua !== undefined && /^Mozilla\//.test(ua)) ? 'WEB' : 'DIRECT',
    secure: socket.encrypted === true || proto === 'https',
    ...(ua !== undefined ? { userAgent: ua } : {}),
  };
}

/** The parts of the client's handshake that the upstream handshake reuses. */
export interface ClientHandshake {
  key: string;
  protocol?: string;
  extensions?: string;
}

/** Checks the client's handshake (RFC 6455 §4.2.1) so nothing malformed is dialled upstream. */
export function checkClientHandshake(method: string | undefined, headers: Headers): Parsed<ClientHandshake> {
  if (method !== 'GET') return refuse(405, 'WebSocket upgrades use GET.');
  const upgrade = one(headers.upgrade)?.toLowerCase() ?? '';
  if (!upgrade.split(',').some((p) => p.trim() === 'websocket')) return refuse(400, 'Only WebSocket upgrades are supported here (Upgrade: websocket).');
  if (one(headers['sec-websocket-version'])?.trim() !== '13') {
    return refuse(426, 'Unsupported WebSocket version; use 13.', { 'Sec-WebSocket-Version': '13' });
  }
  const key = one(headers['sec-websocket-key'])?.trim() ?? '';
  if (!WS_KEY.test(key)) return refuse(400, 'Missing or invalid Sec-WebSocket-Key header.');
  const protocol = one(headers['sec-websocket-protocol']);
  const extensions = one(headers['sec-websocket-extensions']);
  if ((protocol !== undefined && !HEADER_LIST.test(protocol)) || (extensions !== undefined && !HEADER_LIST.test(extensions))) {
    return refuse(400, 'Invalid characters in Sec-WebSocket-Protocol or Sec-WebSocket-Extensions.');
  }
  return { ok: true, value: { key, ...(protocol !== undefined ? { protocol } : {}), ...(extensions !== undefined ? { extensions } : {}) } };
}

/**
 * Headers of the upstream handshake: the client's key (so the node's Sec-WebSocket-Accept is valid for the
 * client, which lets the two sockets be joined without re-framing), subprotocol and extension offers
 * (negotiated end to end), User-Agent and Origin, plus the X-Forwarded-For* set of the classic proxy.
 * Cookies and Authorization are not forwarded: they belong to the manager, not the node.
 */
export function upstreamHeaders(
  target: { host: string; port: number },
  hs: ClientHandshake,
  meta: ClientMeta,
  origin?: string,
): Record<string, string> {
  const hostHeader = (target.host.includes(':') ? `[${target.host}]` : target.host) + ':' + target.port;
  const h: Record<string, string> = {
    Host: hostHeader,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': hs.key,
  };
  if (hs.protocol !== undefined) h['Sec-WebSocket-Protocol'] = hs.protocol;
  if (hs.extensions !== undefined) h['Sec-WebSocket-Extensions'] = hs.extensions;
  if (meta.userAgent !== undefined) h['User-Agent'] = meta.userAgent;
  if (origin !== undefined) h.Origin = origin;
  h['X-Forwarded-For'] = meta.address;
  h['X-Forwarded-For-Meta-Port'] = String(meta.port);
  h['X-Forwarded-For-Meta-Type'] = meta.type;
  h['X-Forwarded-For-Meta-Secure'] = String(meta.secure);
  return h;
}

/** Bytes of an HTTP refusal on a raw upgrade socket, with the classic JSON error body. */
export function refusalResponse(r: Refusal, now: number): string {
  const body = JSON.stringify({ errorMessage: r.message, timestamp: now });
  let head = `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}\r\n`;
  head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(r.headers ?? {})) head += `${k}: ${v}\r\n`;
  return head + '\r\n' + body;
}
