import { Agent, request } from 'undici';
import { replySchema, type ReplyBody } from '../cluster/node-reply.ts';
import type { ReportMessage, StreamEventMessage } from '../cluster/red5-report.ts';

export interface ManagerClientOptions {
  /** Stream Manager base URL, e.g. http://10.0.0.5:5080 */
  url: string;
  /** cluster.password */
  password: string;
  /** Source address for the connections, so reports come from the node's own address (multi-homed hosts). */
  localAddress?: string;
  timeout?: number;
}

export class ManagerError extends Error {
  constructor(readonly statusCode: number | null, message: string) {
    super(message);
    this.name = 'ManagerError';
  }
}

/** `POST /streammanager/cloudwatch` with the cluster password (node protocol v1, README). */
export function createManagerClient(o: ManagerClientOptions) {
  const url = `${o.url.replace(/\/+$/, '')}/streammanager/cloudwatch`;
  const timeout = o.timeout ?? 5_000;
  const dispatcher = new Agent({ keepAliveTimeout: 4_000, connections: 2, localAddress: o.localAddress });

  async function send(body: ReportMessage | StreamEventMessage): Promise<ReplyBody> {
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.password}` },
        body: JSON.stringify(body),
        dispatcher,
        signal: AbortSignal.timeout(timeout),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new ManagerError(null, `manager at ${o.url} did not answer: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (status < 200 || status >= 300) throw new ManagerError(status, `manager answered ${status}: ${text.slice(0, 300)}`);
    try {
      return replySchema.parse(JSON.parse(text));
    } catch {
      throw new ManagerError(status, `manager answered ${status} with an unreadable reply`);
    }
  }

  return { send, close: () => dispatcher.close() };
}

export type ManagerClient = ReturnType<typeof createManagerClient>;
