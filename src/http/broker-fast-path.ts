import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAppError } from '../lib/errors.ts';
import { isApiVersion } from './api-scope.ts';
import { brokerReader, checkLengths, ROUTE, type BrokerRouteDeps, type Query } from './routes/broker.ts';

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
    const q = parseQuery(qPos < 0 ? '' : url.slice(qPos + 1));
    if (!q) return false;
    const scope = path.slice(0, cut);

    let status = 200;
    let body: string;
    try {
      checkLengths(scope, name);
      body = JSON.stringify(read(scope, name, q));
    } catch (err) {
      // read() only throws AppError (bad input, refusals); anything else is a bug: generic 500 as elsewhere.
      status = isAppError(err) ? err.statusCode : 500;
      const errorMessage = isAppError(err) ? err.message : 'An internal error occurred while processing the request.';
      body = JSON.stringify({ errorMessage, timestamp: Date.now() });
    }
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'Access-Control-Allow-Origin',
    });
    res.end(body);
    deps.observe?.(ROUTE, 'GET', status);
    return true;
  };
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
