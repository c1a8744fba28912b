import { request, type Dispatcher } from 'undici';

/**
 * Manager → node calls over the Red5 Pro Server API (design §4, classic-api §4.6). Only the ping is used:
 * it decides whether a host may enter (or return to) the simulated pool. Calls never throw, so an
 * unreachable node can only ever cost a request handler the configured timeout.
 */
export interface NodeApi {
  /** True only when `GET /api/{version}/server/ping` answers 200 with `{status: "success"}` in time. */
  ping(host: string, port?: number): Promise<boolean>;
}

export interface NodeApiOptions {
  protocol: 'http' | 'https';
  /** Default node port (serverapi.port) when a call names none. */
  port: number;
  /** Server API version segment, e.g. `v1`. */
  version: string;
  /** serverapi.accessToken; sent as `?accessToken=`, never logged. */
  accessToken: string;
  /** Whole-call timeout in ms (connect, headers and body). */
  timeout: number;
  dispatcher?: Dispatcher;
}

/** Ping bodies are tiny; a node answering megabytes is not a Red5 Pro node. */
const MAX_PING_BODY = 64 * 1024;

/** `host:port` for a URL, with IPv6 literals bracketed. */
export function hostPort(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${h}:${port}`;
}

export function createNodeApi(opts: NodeApiOptions): NodeApi {
  const version = encodeURIComponent(opts.version);
  const token = encodeURIComponent(opts.accessToken);
  return {
    async ping(host, port = opts.port) {
      const url = `${opts.protocol}://${hostPort(host, port)}/api/${version}/server/ping?accessToken=${token}`;
      try {
        const res = await request(url, {
          method: 'GET',
          signal: AbortSignal.timeout(opts.timeout),
          headersTimeout: opts.timeout,
          bodyTimeout: opts.timeout,
          // A fresh connection per ping: a node that was killed and revived must not be judged on a dead socket.
          reset: true,
          dispatcher: opts.dispatcher,
        });
        const text = await readLimited(res.body, MAX_PING_BODY);
        if (res.statusCode !== 200 || text === null) return false;
        const body = JSON.parse(text) as unknown;
        return typeof body === 'object' && body !== null && (body as { status?: unknown }).status === 'success';
      } catch {
        // Refused, timed out, reset, not JSON: all mean "not a healthy node right now".
        return false;
      }
    },
  };
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
