import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { notFound, unavailable } from '../../lib/errors.ts';

export const DASHBOARD_PATH = '/streammanager/dashboard/';

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  map: 'application/json; charset=utf-8',
};

/** Only flat file names the build writes: nothing with a slash or `..` reaches the file system. */
const FILE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)+$/;

/**
 * The operator dashboard (`npm run build:dashboard` writes it to `dir`). Files are read per request so a
 * build after start-up is served without a restart. The page itself is public (it holds no data); every
 * cluster read it makes goes to the admin API with the token. Root plugin.
 */
export function dashboardRoutes(deps: { dir: string }): FastifyPluginAsync {
  const send = async (reply: FastifyReply, file: string) => {
    const ext = file.slice(file.lastIndexOf('.') + 1);
    if (!FILE.test(file) || file.includes('..') || !TYPES[ext]) throw notFound(`No dashboard file ${JSON.stringify(file)}.`);
    let body: Buffer;
    try {
      body = await readFile(join(deps.dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (file === 'index.html') throw unavailable('The dashboard is not built: run `npm run build:dashboard` (or `npm run build`), then reload.', 'SM_DASHBOARD_NOT_BUILT');
      throw notFound(`No dashboard file ${JSON.stringify(file)}.`);
    }
    return reply
      .type(TYPES[ext])
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('content-security-policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
      .send(body);
  };

  return async (app) => {
    app.get('/streammanager/dashboard', async (_req, reply) => reply.redirect(DASHBOARD_PATH));
    app.get(DASHBOARD_PATH, async (_req, reply) => send(reply, 'index.html'));
    app.get(`${DASHBOARD_PATH}:file`, async (req, reply) => send(reply, (req.params as { file: string }).file));
  };
}
