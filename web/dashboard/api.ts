/**
 * The admin API as the dashboard calls it. The token lives in sessionStorage (gone with the tab) and goes
 * only in the Authorization header: never in a URL, so it is in no access log, history entry or Referer.
 */

const TOKEN_KEY = 'streammanager.adminToken';
export const ADMIN = '/streammanager/api/4.0/admin';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
  /** `#accessToken=…` in the address: keep it and wipe it from the address bar and history. */
  takeFromFragment() {
    const m = /(?:^#|&)accessToken=([^&]*)/.exec(location.hash);
    if (!m) return;
    const t = decodeURIComponent(m[1]).trim();
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    history.replaceState(null, '', location.pathname + location.search);
  },
};

export async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const t = token.get();
  if (!t) throw new ApiError(401, 'Not signed in.');
  const headers: Record<string, string> = { authorization: `Bearer ${t}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(ADMIN + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'The manager does not answer.');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  if (!res.ok) {
    const msg = (json as { errorMessage?: unknown } | undefined)?.errorMessage;
    throw new ApiError(res.status, typeof msg === 'string' ? msg : `HTTP ${res.status}`);
  }
  return json as T;
}
