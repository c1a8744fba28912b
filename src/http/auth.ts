import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { unauthorized } from '../lib/errors.ts';

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** The bearer token of an Authorization header, if any. */
export function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m ? m[1].trim() : undefined;
}

/** onRequest hook for /admin: `accessToken` query parameter or `Authorization: Bearer`. */
export function requireAdmin(token: string) {
  return async (req: FastifyRequest) => {
    const q = (req.query as Record<string, unknown> | undefined)?.accessToken;
    const given = typeof q === 'string' ? q : bearerOf(req);
    if (given === undefined || given === '') {
      throw unauthorized('Missing accessToken: add ?accessToken=<rest.administratorToken> or an Authorization: Bearer header.');
    }
    if (!safeEqual(given, token)) throw unauthorized('Invalid accessToken.');
  };
}
