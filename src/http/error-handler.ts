import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { isAppError } from '../lib/errors.ts';
import { StoreConflictError, StoreInputError, StoreUnavailableError } from '../store/cluster-store.ts';
import { CloudError } from '../cloud/cloud-controller.ts';

/** The classic error body, for every status. */
export function sendError(reply: FastifyReply, status: number, errorMessage: string) {
  return reply.code(status).type('application/json').send({ errorMessage, timestamp: Date.now() });
}

/** `2 MB`, `64 KB`: route body limits as an operator reads them. */
const sizeText = (bytes: number) => (bytes >= 1024 * 1024 ? `${+(bytes / (1024 * 1024)).toFixed(1)} MB` : `${+(bytes / 1024).toFixed(1)} KB`);

/** Maps every error to {errorMessage, timestamp} in one place; 5xx details go to the log only. */
export function installErrorHandling(app: FastifyInstance, opts: { onNotFound?: (method: string) => void } = {}) {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (isAppError(err)) {
      if (err.statusCode >= 500) req.log.warn({ err }, 'request failed');
      if (err.headers) reply.headers(err.headers);
      return sendError(reply, err.statusCode, err.message);
    }
    if (err instanceof StoreConflictError) return sendError(reply, 409, err.message);
    if (err instanceof StoreInputError) return sendError(reply, 400, err.message);
    if (err instanceof StoreUnavailableError) {
      req.log.error({ err }, 'store unavailable');
      return sendError(reply, 503, 'The cluster database is unavailable; retry shortly.');
    }
    if (err instanceof CloudError) {
      req.log.warn({ err }, 'cloud error');
      return sendError(reply, err.code === 'UNKNOWN_ZONE' ? 400 : 503, err.message);
    }
    const fe = err as FastifyError;
    switch (fe.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 413, `Request body too large: the limit is ${sizeText(req.routeOptions.bodyLimit ?? 2 * 1024 * 1024)}.`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 415, `Unsupported content type ${JSON.stringify(req.headers['content-type'] ?? '')}; send application/json.`);
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 400, 'The request body is empty; send a JSON body.');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 400, `The request body is not valid JSON: ${fe.message}`);
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return sendError(reply, fe.statusCode, fe.message);
    }
    req.log.error({ err }, 'unhandled error');
    return sendError(reply, 500, 'An internal error occurred while processing the request.');
  });

  app.setNotFoundHandler((req, reply) => {
    opts.onNotFound?.(req.method);
    return sendError(reply, 404, `No route ${req.method} ${req.url.split('?')[0]}; see the README for the API.`);
  });
}
