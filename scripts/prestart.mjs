// `npm start` runs the compiled build: this builds it first when dist/ is missing or older than a
// source file, so `npm ci && npm start` works on a fresh clone. Plain JS: no TypeScript loader.
import { execSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const mtime = (p) => {
  try {
    return statSync(join(root, p)).mtimeMs;
  } catch {
    return -1;
  }
};
const newestUnder = (dir) =>
  Math.max(...readdirSync(join(root, dir), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs));

const built = mtime('dist/build-info.json');
const sources = Math.max(
  ...['src', 'web'].filter((d) => mtime(d) >= 0).map(newestUnder),
  mtime('package.json'),
  mtime('tsconfig.json'),
  mtime('tsconfig.build.json'),
);
if (built < sources) {
  process.stdout.write(built < 0 ? 'No build in dist/: building first (npm run build).\n' : 'dist/ is older than src/: rebuilding (npm run build).\n');
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
