import { parseArgs } from 'node:util';
import { z } from 'zod';
import { describeZodIssues } from '../lib/errors.ts';
import { deepFreeze } from '../lib/deep-freeze.ts';

/**
 * Agent settings: `--flag value`, else `SM_AGENT_<FLAG without dashes, upper case>` (so `--api-token` is
 * `SM_AGENT_APITOKEN`), else the default. Parsed and frozen once.
 */

export const AGENT_HELP = `Usage: npm run agent -- [options]   (each also as SM_AGENT_<NAME>, e.g. SM_AGENT_APITOKEN)

  --manager <url>           Stream Manager base URL (required), e.g. http://10.0.0.5:5080
  --password <pw>           the manager's cluster.password (required; prefer SM_AGENT_PASSWORD)
  --host <address>          this node's address as clients and the manager reach it (required)
  --port <port>             this node's HTTP port for clients (default: the --red5 URL's port, else 5080)
  --red5 <url>              Server API base of the local Red5 Pro (default http://127.0.0.1:5080)
  --api-token <token>       security.accessToken of webapps/api/WEB-INF/red5-web.properties (required)
  --red5-home <dir>         Red5 Pro install directory holding conf/cluster.xml (default /usr/local/red5pro)
  --restart-command <cmd>   shell command that restarts Red5 Pro after cluster.xml changed
  --apps <a,b>              applications whose streams are reported (default: all but api)
  --capacity <n>            connection capacity sent in reports (default: the launch configuration's)
  --local-address <addr>    source address of the connections to the manager (multi-homed hosts)
  --log-level <level>       fatal|error|warn|info|debug|trace|silent (default info)
  --help                    this text
`;

const FLAGS = ['manager', 'password', 'host', 'port', 'red5', 'api-token', 'red5-home', 'restart-command', 'apps', 'capacity', 'local-address', 'log-level'] as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z
  .object({
    manager: z.string({ required_error: 'required' }).url(),
    password: z.string({ required_error: 'required' }).min(1),
    host: z.string({ required_error: 'required' }).min(1).max(253).regex(/^[A-Za-z0-9.\-:[\]]+$/, 'must be an IP address or host name'),
    port: int(1, 65535).optional(),
    red5: z.string().url().default('http://127.0.0.1:5080'),
    'api-token': z.string({ required_error: 'required (security.accessToken of the Server API)' }).min(1),
    'red5-home': z.string().min(1).default('/usr/local/red5pro'),
    'restart-command': z.string().min(1).optional(),
    apps: z
      .string()
      .transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^[^/\s]+$/, 'an application name has no slash or space')).min(1))
      .optional(),
    capacity: int(1, 10_000_000).optional(),
    'local-address': z.string().ip().optional(),
    'log-level': z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .transform((v) => ({
    manager: v.manager,
    password: v.password,
    host: v.host,
    port: v.port ?? (Number(new URL(v.red5).port) || 5080),
    red5: v.red5,
    apiToken: v['api-token'],
    red5Home: v['red5-home'],
    restartCommand: v['restart-command'],
    apps: v.apps,
    capacity: v.capacity,
    localAddress: v['local-address'],
    logLevel: v['log-level'],
  }));

export type AgentOptions = Readonly<z.output<typeof schema>>;

export class AgentOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentOptionsError';
  }
}

export const envName = (flag: string) => `SM_AGENT_${flag.replace(/-/g, '').toUpperCase()}`;

/** Throws AgentOptionsError naming every bad setting; returns null for --help. */
export function parseAgentOptions(argv: readonly string[], env: NodeJS.ProcessEnv): AgentOptions | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: { ...Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])), help: { type: 'boolean' } },
      strict: true,
    }).values;
  } catch (e) {
    throw new AgentOptionsError((e as Error).message);
  }
  if (values.help) return null;
  const merged: Record<string, unknown> = {};
  for (const f of FLAGS) {
    const v = values[f] ?? env[envName(f)];
    if (v !== undefined && v !== '') merged[f] = v;
  }
  const r = schema.safeParse(merged);
  if (!r.success) throw new AgentOptionsError(describeZodIssues(r.error.issues.map((i) => ({ ...i, path: i.path.map((p) => `--${p}`) }))));
  return deepFreeze(r.data);
}
