/**
 * Builds the operator dashboard: web/dashboard/main.ts bundled by esbuild into dist/dashboard/app.js,
 * with index.html and style.css copied beside it. No CDN and no runtime dependency: the page works offline.
 * `npm run build:dashboard`; `npm test` runs it first (the browser tests need it).
 */
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../web/dashboard/', import.meta.url));
const out = fileURLToPath(new URL('../dist/dashboard/', import.meta.url));

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: [src + 'main.ts'],
  outfile: out + 'app.js',
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await Promise.all(['index.html', 'style.css'].map((f) => copyFile(src + f, out + f)));
console.log(`dashboard built in ${out}`);
