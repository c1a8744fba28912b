import { readFileSync } from 'node:fs';
import { configSchema, knownKeys, SECRET_KEYS, type Config } from './schema.ts';
import { describeZodIssues } from '../lib/errors.ts';
import { deepFreeze } from '../lib/deep-freeze.ts';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n- ${problems.join('\n- ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses Java-style .properties text: `key=value` / `key: value`, `#`/`!` comments, `\` line continuations. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].replace(/^\s+/, '');
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i].replace(/^\s+/, '');
    const m = /^((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$/.exec(line) ?? /^((?:\\.|[^=:\s\\])+)$/.exec(line);
    if (!m) continue;
    const key = m[1].replace(/\\(.)/g, '$1');
    out.set(key, (m[2] ?? '').replace(/\\(.)/g, '$1').trimEnd());
  }
  return out;
}

/** `instancecontroller.nodeStateToleranceTime` → `SM_INSTANCECONTROLLER_NODESTATETOLERANCETIME`. */
export const envNameOf = (key: string) => `SM_${key.toUpperCase().replace(/\./g, '_')}`;

export interface LoadOptions {
  /** Path of a classic red5-web.properties file (from --config or SM_CONFIG). */
  file?: string;
  /** Properties text (tests), used instead of `file`. */
  text?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra overrides applied last (tests, demo). Keys as in the properties file. */
  overrides?: Record<string, string | number | boolean>;
}

/**
 * Properties file, then SM_* environment overrides, then explicit overrides; validated once by zod.
 * Every problem is reported in one ConfigError. The result is deeply frozen.
 */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? {};
  const raw = new Map<string, string>();
  const problems: string[] = [];
  if (opts.text !== undefined) {
    for (const [k, v] of parseProperties(opts.text)) raw.set(k, v);
  } else if (opts.file) {
    try {
      for (const [k, v] of parseProperties(readFileSync(opts.file, 'utf8'))) raw.set(k, v);
    } catch (e) {
      throw new ConfigError([`cannot read config file ${opts.file}: ${(e as Error).message}`]);
    }
  }
  for (const key of knownKeys()) {
    const v = env[envNameOf(key)];
    if (v !== undefined) raw.set(key, v);
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) raw.set(k, String(v));

  const tree: Record<string, Record<string, string>> = {};
  const known = new Set(knownKeys());
  for (const [key, value] of raw) {
    if (!known.has(key)) continue;
    const dot = key.indexOf('.');
    const section = key.slice(0, dot);
    (tree[section] ??= {})[key.slice(dot + 1)] = value;
  }
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.join('.');
      const shown = SECRET_KEYS.has(key) ? '' : ` (got ${JSON.stringify(raw.get(key))})`;
      problems.push(`${describeZodIssues([issue])}${shown}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze(parsed.data!);
}

/** Config path from argv (`--config path` / `--config=path`) or SM_CONFIG. */
export function configPathFrom(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') return argv[i + 1];
    if (argv[i].startsWith('--config=')) return argv[i].slice('--config='.length);
  }
  return env.SM_CONFIG || undefined;
}
