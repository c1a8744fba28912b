import { Agent, request } from 'undici';
import type { z } from 'zod';
import {
  nameListSchema,
  serverApiEnvelopeSchema,
  serverStatisticsSchema,
  streamStatisticsSchema,
  type Red5Snapshot,
} from '../cluster/red5-report.ts';

/**
 * The Red5 Pro Server API of the node the agent runs on (`{base}/api/v1/...?accessToken=`). Every failure is
 * a ServerApiError saying which kind it is, because the agent answers each kind differently: a refused
 * token stops it, a refused connection is Red5 still starting, anything else means "could not read".
 */
export type ServerApiFailure = 'auth' | 'refused' | 'unreachable' | 'bad-answer';

export class ServerApiError extends Error {
  constructor(readonly kind: ServerApiFailure, message: string, readonly status?: number) {
    super(message);
    this.name = 'ServerApiError';
  }
}

export interface ServerApiOptions {
  /** e.g. http://127.0.0.1:5080 */
  base: string;
  accessToken: string;
  /** Whole-call timeout (ms). */
  timeout?: number;
}

const MAX_BODY = 4 * 1024 * 1024;

export function createServerApi(o: ServerApiOptions) {
  const base = o.base.replace(/\/+$/, '');
  const timeout = o.timeout ?? 5_000;
  const dispatcher = new Agent({ keepAliveTimeout: 4_000, connections: 4 });

  async function get<T extends z.ZodTypeAny>(path: string, schema: T, missingOk = false): Promise<z.infer<T> | null> {
    const url = `${base}/api/v1${path}${path.includes('?') ? '&' : '?'}accessToken=${encodeURIComponent(o.accessToken)}`;
    let status: number;
    let text: string;
    try {
      const res = await request(url, { method: 'GET', dispatcher, signal: AbortSignal.timeout(timeout), headersTimeout: timeout, bodyTimeout: timeout });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The URL carries the token: never put it in a message.
      if (code === 'ECONNREFUSED') throw new ServerApiError('refused', `Server API at ${base} refused the connection`);
      throw new ServerApiError('unreachable', `Server API at ${base} did not answer ${path}: ${code ?? (err as Error).name}`);
    }
    if (status === 401 || status === 403) {
      throw new ServerApiError('auth', `Server API at ${base} refused the token (${status}): --api-token must equal security.accessToken in webapps/api/WEB-INF/red5-web.properties, and this host must be allowed in its security/hosts.txt`, status);
    }
    if (status === 404 && missingOk) return null;
    if (text.length > MAX_BODY) throw new ServerApiError('bad-answer', `Server API ${path} answered more than ${MAX_BODY} bytes`, status);
    let envelope: z.infer<typeof serverApiEnvelopeSchema>;
    try {
      envelope = serverApiEnvelopeSchema.parse(JSON.parse(text));
    } catch {
      throw new ServerApiError('bad-answer', `Server API ${path} answered ${status} without its JSON envelope`, status);
    }
    if (status !== 200 || envelope.status !== 'success') {
      throw new ServerApiError('bad-answer', `Server API ${path} answered ${status} ${envelope.status}`, status);
    }
    const data = schema.safeParse(envelope.data);
    if (!data.success) throw new ServerApiError('bad-answer', `Server API ${path}: unexpected data (${data.error.issues[0]?.path.join('.')}: ${data.error.issues[0]?.message})`, status);
    return data.data;
  }

  const seg = encodeURIComponent;

  return {
    async ping(): Promise<void> {
      await get('/server/ping', serverApiEnvelopeSchema.shape.data);
    },
    /**
     * Statistics and every live stream of `apps` (default: every application but `api`). A stream that ends
     * between the listing and its own read (404) is simply not live; any other failure fails the whole read.
     */
    async snapshot(apps?: readonly string[]): Promise<Red5Snapshot> {
      const statistics = (await get('/server/statistics', serverStatisticsSchema))!;
      const names = apps ?? ((await get('/applications', nameListSchema))!).filter((a) => a !== 'api');
      const streams: Red5Snapshot['streams'][number][] = [];
      for (const app of names) {
        const list = await get(`/applications/${seg(app)}/streams`, nameListSchema, true);
        // A name listed twice would make the manager refuse the report; one read is enough.
        for (const name of new Set(list ?? [])) {
          const stats = await get(`/applications/${seg(app)}/streams/${seg(name)}`, streamStatisticsSchema, true);
          if (stats) streams.push({ app, name, stats });
        }
      }
      return { statistics, streams };
    },
    close: () => dispatcher.close(),
  };
}

export type ServerApi = ReturnType<typeof createServerApi>;
