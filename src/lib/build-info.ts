import { readFileSync } from 'node:fs';

export interface BuildInfo {
  /** package.json version. */
  version: string;
  /** Git commit the build was made from, or `unknown` (a run from sources, or built outside git). */
  commit: string;
}

const readJson = (url: URL): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(readFileSync(url, 'utf8'));
  } catch {
    return undefined;
  }
};

/**
 * What is running: `npm run build` writes dist/build-info.json beside the compiled code; a run from
 * the TypeScript sources has none and reads the version from package.json.
 */
export function readBuildInfo(): BuildInfo {
  const built = readJson(new URL('../build-info.json', import.meta.url));
  if (typeof built?.version === 'string' && typeof built.commit === 'string') return { version: built.version, commit: built.commit };
  const pkg = readJson(new URL('../../package.json', import.meta.url));
  return { version: typeof pkg?.version === 'string' ? pkg.version : 'unknown', commit: 'unknown' };
}
