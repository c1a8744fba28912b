import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The admin API is never open (design §2): without rest.administratorToken a token is generated at
 * first start, printed once on stdout (never through the logger) and kept in `<dataDir>/admin-token`.
 */
export function resolveAdminToken(configured: string, dataDir: string, print: (line: string) => void): string {
  if (configured) return configured;
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept) {
      print(`Admin token: the one generated earlier, kept in ${file}.`);
      return kept;
    }
  }
  const token = randomBytes(24).toString('hex');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, token + '\n', { mode: 0o600 });
  print(`Generated admin token (shown once; kept in ${file}): ${token}`);
  return token;
}
