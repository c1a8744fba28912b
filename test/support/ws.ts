/** The WebSocket test client and the bounded waits that go with it (proxy, sim and integration tests). */
import type net from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';

export interface Frame {
  data: Buffer;
  binary: boolean;
}

export interface Client {
  ws: WebSocket;
  frames: Frame[];
  /** Resolves with the n-th frame (1-based count of frames received). */
  frame(n: number): Promise<Frame>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A refused upgrade: the HTTP status the server answered instead of 101. */
export type RefusedUpgrade = Error & { status: number };

/**
 * Opens a client and collects every frame from the start (so the node's first frame is never missed).
 * Rejects on a refused upgrade with an error carrying the HTTP `status`.
 */
export function client(url: string, protocols?: string | string[], options?: ClientOptions): Promise<Client> {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, handshakeTimeout: 5000, ...options });
  const frames: Frame[] = [];
  const wake: (() => void)[] = [];
  ws.on('message', (data, binary) => {
    frames.push({ data: data as Buffer, binary });
    for (const w of wake.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const frame = async (n: number) => {
    const wait = (async () => {
      while (frames.length < n) await new Promise<void>((r) => wake.push(r));
      return frames[n - 1];
    })();
    return within(wait, `frame ${n}`, 10000);
  };
  const c: Client = {
    ws,
    frames,
    frame,
    // Timed from the moment a test waits for it, so a missing close fails the test instead of hanging it.
    get closed() {
      return within(closed, 'the client socket to close');
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(c));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      reject(Object.assign(new Error(`unexpected ${status}`), { status }) satisfies RefusedUpgrade);
    });
  });
}

/** The TCP socket under a ws WebSocket (client or server side), to pause, destroy or inspect it. */
export const rawSocketOf = (ws: unknown) => (ws as { _socket: net.Socket })._socket;

/** Waits (bounded) for a condition that depends on socket I/O finishing. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r)); // let socket I/O run; no timer
  }
}

/** Fails instead of hanging when a promise that the feature should settle never does. */
export function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
