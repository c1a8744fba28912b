// Part of `npm run build`: records what was built (package version, git commit) beside the compiled
// code, for GET /streammanager/api/{v}/admin/debug/version. Outside a git checkout the commit is "unknown".
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
let commit = process.env.SM_BUILD_COMMIT || 'unknown';
if (commit === 'unknown') {
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // no git, or not a checkout (a docker build context without .git)
  }
}
writeFileSync(new URL('../dist/build-info.json', import.meta.url), JSON.stringify({ version, commit }) + '\n');
