import { Agent, request } from 'undici';

/**
 * POSTs a node message to a manager's /streammanager/cloudwatch from a chosen loopback source address
 * (default: the message's own `host` when it is 127.x, as a real node sends it; cluster.reportSourceCheck
 * pins that address). Answers a fully read Response.
 */
export async function postNodeMessage(managerUrl: string, body: unknown, opts: { password: string; from?: string; raw?: string }): Promise<Response> {
  const host = (body as { host?: unknown } | null)?.host;
  const from = opts.from ?? (typeof host === 'string' && /^127\.\d+\.\d+\.\d+$/.test(host) ? host : '127.0.0.1');
  const agent = new Agent({ localAddress: from });
  try {
    const res = await request(`${managerUrl}/streammanager/cloudwatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.password}` },
      body: opts.raw ?? JSON.stringify(body),
      dispatcher: agent,
    });
    const text = await res.body.text();
    return new Response(text, { status: res.statusCode, headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') } });
  } finally {
    await agent.close();
  }
}
