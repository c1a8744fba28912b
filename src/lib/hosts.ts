import { isIP } from 'node:net';

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The canonical form of a host, or null when it is not an IPv4/IPv6 address or DNS name.
 * DNS names are case-insensitive, so they are kept lower-case; `[::1]` loses its brackets.
 * Hosts are keys (provisions, nodes, proxy targets): every place that takes one from outside goes through here.
 */
export function normalizeHost(raw: string): string | null {
  let h = raw.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) {
    h = h.slice(1, -1);
    return isIP(h) === 6 ? h : null;
  }
  if (!h || h.length > 253) return null;
  if (isIP(h)) return h;
  // Dotted digits that are not a valid IPv4 address (999.1.1.1, 10.0.0) are typos, not host names.
  if (/^[\d.]+$/.test(h)) return null;
  return h.split('.').every((l) => DNS_LABEL.test(l)) ? h : null;
}

/** A host as a lookup key: its canonical form, or (not a valid host) trimmed and lower-cased, so it simply matches nothing. */
export const hostKey = (raw: string): string => normalizeHost(raw) ?? raw.trim().toLowerCase();

/** A socket's peer address as a key: `::ffff:127.0.0.2` (IPv4 on a dual-stack socket) is `127.0.0.2`. */
export function peerAddress(remote: string | undefined): string {
  if (!remote) return '';
  const r = remote.toLowerCase();
  return r.startsWith('::ffff:') && isIP(r.slice(7)) === 4 ? r.slice(7) : r;
}
