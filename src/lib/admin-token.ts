import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A secret that is never left open (design §2, §3): when not configured it is generated at first start,
 * printed once on stdout (never through the logger) and kept in `<dataDir>/<file>` for later starts.
 */
export function resolveGeneratedSecret(what: string, file: string, configured: string, dataDir: string, print: (line: string) => void): string {
  if (configured) return configured;
  const path = join(dataDir, file);
  if (existsSync(path)) {
    const kept = readFileSync(path, 'utf8').trim();
    if (kept) {
      print(`${what}: the one generated earlier, kept in ${path}.`);
      return kept;
    }
  }
  const secret = randomBytes(24).toString('hex');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path, secret + '\n', { mode: 0o600 });
  print(`Generated ${what.toLowerCase()} (shown once; kept in ${path}): ${secret}`);
  return secret;
}

export const ADMIN_TOKEN_FILE = 'admin-token';
export const CLUSTER_PASSWORD_FILE = 'cluster-password';
/** The published classic default: it opens the node protocol only when configured explicitly. */
export const CLASSIC_CLUSTER_PASSWORD = 'changeme';

/** rest.administratorToken, or the generated one in `<dataDir>/admin-token`. */
export function resolveAdminToken(configured: string, dataDir: string, print: (line: string) => void): string {
  return resolveGeneratedSecret('Admin token', ADMIN_TOKEN_FILE, configured, dataDir, print);
}

/** cluster.password, or the generated one in `<dataDir>/cluster-password` (nodes and the simulator read it there). */
export function resolveClusterPassword(configured: string, dataDir: string, print: (line: string) => void): string {
  return resolveGeneratedSecret('Cluster password', CLUSTER_PASSWORD_FILE, configured, dataDir, print);
}

/** The kept generated secret, or undefined (the simulator and scripts on the manager's machine). */
export function readKeptSecret(dataDir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dataDir, file), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
