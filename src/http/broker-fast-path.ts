import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAppError } from '../lib/errors.ts';
import { peerAddress } from '../lib/hosts.ts';
import type { BrokerAnswer } from '../broker/broker.ts';
import { isApiVersion } from './api-scope.ts';
import { brokerReader, ROUTE, type BrokerRouteDeps, type Query } from './routes/broker.ts';

/** Answers a raw request and returns true, or returns false to leave it to Fastify. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

const PREFIX = '/streammanager/api/';

/**
 * The broker read on raw Node HTTP, ahead of Fastify (mounted through Fastify's `serverFactory`).
 *
 * Why: it is the busiest route by far (every SDK client calls it), and Fastify's per-request machinery
 * (request/reply objects, routing, hooks, serialisation) costs more than the decision itself. This path
 * takes only the plain shape `GET /streammanager/api/{version}/event/{scope…}/{stream}?…` with nothing
 * percent-encoded in the path; everything else (lists, stats, odd paths, other methods, malformed query
 * strings) falls through to the Fastify route, which answers the same way. The parity test
 * (test/broker/fast-path.test.ts) holds the two to the same status, headers and body.
 */
export function brokerFastPath(deps: BrokerRouteDeps): FastPath {
  const read = brokerReader(deps);
  return (req, res) => {
    const url = req.url;
    if (req.method !== 'GET' || !url || !url.startsWith(PREFIX)) return false;
    const vEnd = url.indexOf('/', PREFIX.length);
    if (vEnd < 0 || !isApiVersion(url.slice(PREFIX.length, vEnd)) || !url.startsWith('/event/', vEnd)) return false;
    const qPos = url.indexOf('?', vEnd);
    const path = url.slice(vEnd + 7, qPos < 0 ? url.length : qPos);
    const cut = path.lastIndexOf('/');
    if (cut <= 0 || cut === path.length - 1 || path.charCodeAt(0) === 47 || path.includes('//') || path.includes('%')) return false;
    const name = path.slice(cut + 1);
    if (name === 'stats' || name === 'join') return false;
    const qs = qPos < 0 ? '' : url.slice(qPos + 1);
    // What the SDKs send, without building a query object per request.
    const q = qs === 'action=subscribe' ? SUBSCRIBE : qs === 'action=broadcast' ? BROADCAST : parseQuery(qs);
    if (!q) return false;
    const scope = path.slice(0, cut);

    let status = 200;
    let body: string;
    /** Known to be ASCII: its length is its byte count. */
    let ascii = false;
    try {
      const answer = read(scope, name, q, peerAddress(req.socket.remoteAddress));
      if (!Array.isArray(answer) && plainAnswer(answer)) {
        body = plainAnswerJson(answer);
        ascii = true;
      } else body = JSON.stringify(answer);
    } catch (err) {
      // read() only throws AppError (bad input, refusals); anything else is a bug: generic 500 as elsewhere.
      status = isAppError(err) ? err.statusCode : 500;
      const errorMessage = isAppError(err) ? err.message : 'An internal error occurred while processing the request.';
      body = JSON.stringify({ errorMessage, timestamp: Date.now() });
      if (isAppError(err) && err.headers) for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
    }
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': ascii ? body.length : Buffer.byteLength(body),
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'Access-Control-Allow-Origin',
    });
    res.end(body);
    deps.observe?.(ROUTE, 'GET', status);
    return true;
  };
}

const SUBSCRIBE: Query = Object.freeze({ action: 'subscribe' });
const BROADCAST: Query = Object.freeze({ action: 'broadcast' });

/**
 * `JSON.stringify(answer)`, by concatenation: the stringifier is a call into the runtime that costs
 * more than the broker's decision. Fields that need escaping (or are not plain ASCII) go through
 * JSON.stringify, so the text is always exactly what the Fastify route sends (the parity test holds it).
 */
export function answerJson(a: BrokerAnswer): string {
  return plainAnswer(a) ? plainAnswerJson(a) : JSON.stringify(a);
}

const plainAnswerJson = (a: BrokerAnswer) =>
  `{"serverAddress":"${a.serverAddress}","scope":"${a.scope}","name":"${a.name}","region":"${a.region}"}`;

const plainAnswer = (a: BrokerAnswer) => isPlain(a.serverAddress) && isPlain(a.scope) && isPlain(a.name) && isPlain(a.region);

/** Printable ASCII without `"` or `\`: JSON.stringify would leave it as it is. */
function isPlain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * `a=1&b=x%20y&a=2` → `{a: ['1', '2'], b: 'x y'}` (`+` is a space, as in Fastify's parser); null when a
 * value cannot be decoded, so Fastify answers that request instead.
 */
export function parseQuery(qs: string): Query | null {
  const q: Query = {};
  if (!qs) return q;
  for (const part of qs.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    let k = eq < 0 ? part : part.slice(0, eq);
    let v = eq < 0 ? '' : part.slice(eq + 1);
    try {
      if (k.includes('%') || k.includes('+')) k = decodeURIComponent(k.replace(/\+/g, ' '));
      if (v.includes('%') || v.includes('+')) v = decodeURIComponent(v.replace(/\+/g, ' '));
    } catch {
      return null;
    }
    const prev = q[k];
    q[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return q;
}
