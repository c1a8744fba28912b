import pino, { type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

const SECRET_QUERY = /([?&](?:accessToken|token|password|passwd|pwd)=)[^&#]*/gi;

/** Removes credentials from a URL before it is logged. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(SECRET_QUERY, '$1[REDACTED]');
}

/** Paths pino censors anywhere they appear in a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'accessToken',
  'password',
  'token',
  '*.accessToken',
  '*.password',
  '*.token',
  '*.dbPass',
  'config.config.dbPass',
  'config.cluster.password',
  'config.rest.administratorToken',
  'config.serverapi.accessToken',
  'config.metrics.token',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req: (req: { method?: string; url?: string; ip?: string; id?: string }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.ip,
      }),
    },
  };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * Where log lines go for `server.logFormat`: undefined is pino's own JSON to stdout (production,
 * collectors); pretty is one readable line per entry, for a terminal. `auto` is pretty only when
 * stdout is a TTY. Redaction happens before either, so both hide the same secrets.
 */
export function logDestination(
  format: LogFormat,
  stdout: { isTTY?: boolean } = process.stdout,
  out?: NodeJS.WritableStream,
): pino.DestinationStream | undefined {
  if (format === 'json' || (format === 'auto' && !stdout.isTTY)) return out;
  return pretty({
    colorize: Boolean(stdout.isTTY) && !out,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    ...(out ? { destination: out } : {}),
  });
}
