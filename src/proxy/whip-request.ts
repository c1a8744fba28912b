/**
 * Pure part of the WHIP/WHEP relay (design §8): reads the client's path and body, builds what the node is
 * sent and what the client gets back. No I/O, so every rule is unit-tested without sockets
 * (test/proxy/whip-request.test.ts).
 *
 * Wire contract: a client POSTs its SDP offer to `/as/v1/proxy/whip|whep/{app…}/{stream}`; the node (a Red5
 * Pro server) serves `/{app…}/whip|whep/endpoint/{stream}` and answers 201 with the SDP answer, a Location
 * (the session resource), an ETag and Link headers (ICE servers). Follow-up PATCH/DELETE/OPTIONS go to the
 * session URL the manager hands out instead of the node's Location.
 */
import type { ClientMeta, Refusal } from './upstream-url.ts';
import { cleanPath } from './upstream-url.ts';

export const WHIP_BASE = '/as/v1/proxy';
export const SESSION_BASE = `${WHIP_BASE}/session`;
export type WhipKind = 'whip' | 'whep';

/** An SDP offer is a few KB; 64 KB leaves room for many candidates and codecs, and bounds what a client can make us hold. */
export const MAX_SDP_BYTES = 64 * 1024;
/** The node's answer is read up to this size (it is an SDP too, or a short error). */
export const MAX_ANSWER_BYTES = 256 * 1024;
export const MAX_STREAM_NAME = 254;

const CONTROL = /[\x00-\x1f\x7f]/;

/** Query parameters the manager consumes for the broker decision; everything else goes on to the node. */
const BROKER_PARAMS = new Set(['region', 'strict', 'transcode']);

export type Checked<T> = { ok: true; value: T } | ({ ok: false } & Refusal);
const refuse = (status: number, message: string): { ok: false } & Refusal => ({ ok: false, status, message });

/** The part of the path after `/as/v1/proxy/whip|whep/`, query excluded, still percent-encoded. */
export function parseStreamPath(rawRest: string, kind: WhipKind): Checked<{ app: string; stream: string }> {
  const usage = `use ${WHIP_BASE}/${kind}/{app}/{stream}, e.g. ${WHIP_BASE}/${kind}/live/stream1`;
  const raw = rawRest.split('/').filter(Boolean);
  if (raw.length < 2) return refuse(400, `Missing app or stream name: ${usage}.`);
  const segments: string[] = [];
  for (const s of raw) {
    try {
      segments.push(decodeURIComponent(s));
    } catch {
      return refuse(400, `Malformed percent-encoding in the path; ${usage}.`);
    }
  }
  const stream = segments[segments.length - 1];
  if (stream.length > MAX_STREAM_NAME) return refuse(400, `Stream name too long: ${stream.length} characters, at most ${MAX_STREAM_NAME}.`);
  if (CONTROL.test(stream) || stream === '.' || stream === '..') return refuse(400, 'Invalid stream name: no control characters, and not "." or "..".');
  // The app becomes path segments on the node: only the characters Red5 scope names use.
  const app = cleanPath(segments.slice(0, -1).join('/'));
  if (!app) return refuse(400, `Invalid app; use letters, digits, '.', '_', '~' or '-' segments separated by '/'.`);
  return { ok: true, value: { app, stream } };
}

/** The media type without parameters, lower-cased (`application/sdp; charset=utf-8` → `application/sdp`). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * Checks an offer before anything is dialled: WHIP/WHEP offers are `application/sdp` bodies that start
 * with the SDP version line (RFC 8866 §5: `v=0` comes first).
 */
export function checkOffer(contentType: string | undefined, body: string | undefined): Refusal | null {
  const type = mediaType(contentType);
  if (type !== 'application/sdp') {
    return { status: 415, message: `The offer must be sent as Content-Type: application/sdp${type ? `, not ${type}` : ''}.` };
  }
  if (!body || !body.trim()) return { status: 400, message: 'The request body is empty; send the SDP offer.' };
  if (!/^v=0\r?\n/.test(body.replace(/^\uFEFF/, ''))) return { status: 400, message: 'The request body is not an SDP offer (it must start with "v=0").' };
  return null;
}

/** Trickle ICE and ICE restarts (RFC 9725 §4.3): a PATCH carries an SDP fragment or a full SDP. */
export function checkPatch(contentType: string | undefined, body: string | undefined): Refusal | null {
  const type = mediaType(contentType);
  if (type !== 'application/trickle-ice-sdpfrag' && type !== 'application/sdp') {
    return { status: 415, message: 'A session PATCH must be sent as application/trickle-ice-sdpfrag (or application/sdp for an ICE restart).' };
  }
  if (!body || !body.trim()) return { status: 400, message: 'The request body is empty; send the ICE candidates as an SDP fragment.' };
  return null;
}

type Query = Record<string, string | string[] | undefined>;

/** The query string the node sees: the client's parameters minus the broker's, in the client's order. */
export function nodeQuery(search: string): string {
  if (!search || search === '?') return '';
  const params = new URLSearchParams(search);
  for (const k of BROKER_PARAMS) params.delete(k);
  const s = params.toString();
  return s ? '?' + s : '';
}

/** The broker's parameters from the client's query (region, strict, transcode), as the broker reader reads them. */
export function brokerQuery(q: Query): Query {
  const out: Query = {};
  for (const k of BROKER_PARAMS) if (q[k] !== undefined) out[k] = q[k];
  return out;
}

/** `http://host:port/{app}/{kind}/endpoint/{stream}?…` */
export function endpointUrl(target: { host: string; port: number }, kind: WhipKind, app: string, stream: string, query: string): string {
  return `${origin(target)}/${app}/${kind}/endpoint/${encodeURIComponent(stream)}${query}`;
}

export function origin(target: { host: string; port: number }): string {
  return `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

type Headers = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * Headers of a request to the node: the body's type, the client's User-Agent, If-Match (PATCH), a Bearer
 * token (publish and subscribe tokens are the node's business), and the X-Forwarded-For* set of the
 * WebSocket proxy. Cookies and other credentials stay on the manager.
 */
export function nodeHeaders(client: Headers, meta: ClientMeta): Record<string, string> {
  const h: Record<string, string> = {};
  const type = one(client['content-type']);
  if (type !== undefined) h['content-type'] = type;
  const accept = one(client.accept);
  if (accept !== undefined) h.accept = accept;
  const ifMatch = one(client['if-match']);
  if (ifMatch !== undefined) h['if-match'] = ifMatch;
  const auth = one(client.authorization);
  if (auth !== undefined && /^Bearer [\x21-\x7e]+$/i.test(auth.trim())) h.authorization = auth.trim();
  if (meta.userAgent !== undefined) h['user-agent'] = meta.userAgent;
  h['x-forwarded-for'] = meta.address;
  h['x-forwarded-for-meta-port'] = String(meta.port);
  h['x-forwarded-for-meta-type'] = meta.type;
  h['x-forwarded-for-meta-secure'] = String(meta.secure);
  return h;
}

/** Answer headers passed back unchanged (Location is rewritten separately). */
const PASSED = ['content-type', 'etag', 'link', 'accept-patch', 'accept-post', 'allow'] as const;

export function answerHeaders(node: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k of PASSED) {
    const v = node[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Path and query of the node's session resource, from its Location (absolute or relative to the endpoint).
 * Only the path is kept: the session is always reached on the node that created it, whatever host a
 * Location names, so a node's answer can never point the manager somewhere else.
 */
export function resourcePath(location: string | string[] | undefined, endpoint: string): string | undefined {
  const loc = one(location);
  if (!loc || CONTROL.test(loc)) return undefined;
  try {
    const u = new URL(loc, endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.pathname + u.search;
  } catch {
    return undefined;
  }
}

/** CORS on every relay answer: browsers must read the session URL, its ETag and the ICE servers. */
export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Location, ETag, Link, Accept-Patch, Content-Type',
} as const;

export const PREFLIGHT_HEADERS = {
  ...CORS_HEADERS,
  'access-control-allow-methods': 'POST, PATCH, DELETE, OPTIONS',
  'access-control-max-age': '86400',
} as const;

/** Headers a preflight may allow: what the browser asks for, when it is a plain token list. */
export function allowHeaders(requested: string | undefined): string {
  return requested && /^[A-Za-z0-9!#$%&'*+.^_`|~, -]{1,1024}$/.test(requested) ? requested : 'Content-Type, Authorization, If-Match';
}
