import type { FastifyReply } from 'fastify';

/** CORS response headers of every API answer (E18): browser pages on other origins call the broker. */
export function setCorsHeaders(reply: FastifyReply) {
  reply.header('Access-Control-Allow-Origin', '*');
  reply.header('Access-Control-Expose-Headers', 'Access-Control-Allow-Origin');
}
