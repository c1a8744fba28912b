import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP forwarder on loopback between one manager and the test's MariaDB: `stall()` stops moving bytes on
 * the connections passing through it (a database that stops answering, for that manager only), `resume()`
 * delivers what was held. A side closing still closes the other (the server frees a dropped lease's lock).
 * Each connection is named by the MariaDB connection id from the server's greeting, so a stall can spare
 * one (the lease's, found with IS_USED_LOCK) and hang only the pool, as a stuck query does.
 */
export async function startStallProxy(target: { host: string; port: number }) {
  interface Link {
    client: Socket;
    upstream: Socket;
    id: number | null;
    held: { to: Socket; data: Buffer }[];
  }
  const links = new Set<Link>();
  let spare = new Set<number>();
  let stalled = false;
  const isHeld = (l: Link) => stalled && !(l.id !== null && spare.has(l.id));

  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const link: Link = { client, upstream, id: null, held: [] };
    links.add(link);
    const forward = (to: Socket) => (data: Buffer) => {
      if (isHeld(link)) link.held.push({ to, data });
      else to.write(data);
    };
    upstream.once('data', (greeting: Buffer) => {
      // Handshake v10: 4-byte header, protocol byte, NUL-terminated server version, 4-byte connection id.
      const end = greeting.indexOf(0, 5);
      if (end > 0 && greeting.length >= end + 5) link.id = greeting.readUInt32LE(end + 1);
    });
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const close = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('close', close);
      s.on('error', close);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    /** Stops every connection but those with the given MariaDB connection ids (new ones stall too). */
    stall(except: number[] = []) {
      spare = new Set(except);
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const l of links) for (const h of l.held.splice(0)) h.to.write(h.data);
    },
    async close() {
      for (const l of links) {
        l.client.destroy();
        l.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
