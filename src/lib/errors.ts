/**
 * The one error type of the service. The HTTP error handler (src/http/error-handler.ts) maps it to
 * the classic body {errorMessage, timestamp}; anything else becomes a generic 500.
 */
export class AppError extends Error {
  /** Extra response headers (Retry-After on a 429). */
  headers?: Record<string, string>;
  constructor(
    readonly statusCode: number,
    message: string,
    readonly code: string = `SM_${statusCode}`,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, code = 'SM_BAD_REQUEST') => new AppError(400, message, code);
export const unauthorized = (message: string) => new AppError(401, message, 'SM_UNAUTHORIZED');
export const notFound = (message: string, code = 'SM_NOT_FOUND') => new AppError(404, message, code);
export const conflict = (message: string, code = 'SM_CONFLICT') => new AppError(409, message, code);
export function tooManyRequests(message: string, retryAfterSeconds: number): AppError {
  const e = new AppError(429, message, 'SM_TOO_MANY_REQUESTS');
  e.headers = { 'retry-after': String(retryAfterSeconds) };
  return e;
}
export const unavailable = (message: string, code = 'SM_UNAVAILABLE') => new AppError(503, message, code);

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Turns a zod error into one readable line naming every bad field. */
export function describeZodIssues(issues: ReadonlyArray<{ path: (string | number)[]; message: string }>, root = ''): string {
  return issues
    .map((i) => {
      const path = [root, ...i.path.map(String)].filter(Boolean).join('.');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}
