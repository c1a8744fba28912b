/**
 * `npm run postman [-- out.json]`: writes a Postman collection of the API, from the OpenAPI document a
 * manager built here (embedded store in a temp dir, nothing listens) serves.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { createDeps } from '../src/deps.ts';
import { buildApp } from '../src/app.ts';
import { createLogger } from '../src/lib/logger.ts';
import { OPENAPI_PATH } from '../src/http/openapi.ts';
import { toPostman } from '../src/http/postman.ts';

const out = process.argv[2] ?? 'streammanager.postman_collection.json';
const dataDir = mkdtempSync(join(tmpdir(), 'sm-postman-'));
try {
  const config = loadConfig({ env: {}, overrides: { 'server.dataDir': dataDir } });
  const rt = await createDeps(config, { log: createLogger('error'), print: () => undefined });
  const app = await buildApp(rt);
  const doc = (await app.inject({ url: OPENAPI_PATH })).json();
  await app.close();
  await rt.close();
  writeFileSync(out, JSON.stringify(toPostman(doc), null, 2) + '\n');
  process.stdout.write(`Wrote ${out} (${Object.values(doc.paths as object).reduce((n: number, ops: object) => n + Object.keys(ops).length, 0)} requests).\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
