import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { z } from 'zod';
import { createLogger } from '../lib/logger.ts';
import { describeZodIssues } from '../lib/errors.ts';
import { ADMIN_TOKEN_FILE, CLUSTER_PASSWORD_FILE, readKeptSecret } from '../lib/admin-token.ts';
import { DEFAULT_SIM_PORT, startSimCluster, type SimNode, type SimNodeState } from './node-sim.ts';

/**
 * `npm run simulate -- --nodes 6 --manager http://127.0.0.1:5080 [--password <pw> | --data-dir ./data]
 *   [--port 8081] [--provision [--token <admin token>] --zone us-test1-a --type standard] [--script load.json]`
 *
 * Starts simulated nodes on 127.0.0.2, 127.0.0.3, ..., optionally provisions them into the manager's
 * simulated cloud, plays a load script, and prints one line whenever the manager changes a node.
 * Real timers are fine here: this is the process edge, not logic under test.
 */

const HELP = `Usage: npm run simulate -- [options]

  --nodes <n>             number of simulated nodes (default 2), on 127.0.0.<first-host>...
  --first-host <n>        last octet of the first node address (default 2)
  --port <port>           node HTTP/WebSocket port on every address (default ${DEFAULT_SIM_PORT}; 0 = random)
  --manager <url>         Stream Manager base URL (default http://127.0.0.1:5080)
  --password <pw>         cluster.password of the manager (default SM_CLUSTER_PASSWORD, else the
                          generated one the manager keeps in <data-dir>/cluster-password)
  --data-dir <dir>        the manager's server.dataDir (default SM_SERVER_DATADIR, else ./data)
  --capacity <n>          connection capacity sent in reports (default: the launch config's)
  --reporting-speed <ms>  report interval until the manager's first reply (default 10000)
  --api-token <token>     serverapi.accessToken the nodes require on ping (default: none required)
  --provision             add the nodes to the manager's simulated cloud pool
  --token <token>         rest.administratorToken for --provision (default SM_REST_ADMINISTRATORTOKEN, else
                          <data-dir>/admin-token)
  --zone <zone>           provision location (default us-test1-a)
  --type <type>           provision instanceType (default standard)
  --script <file>         load script: JSON list of {"at": ms, "node": "127.0.0.3" | "*", "stream": "live/stream1",
                          "publishers": 1, "subscribers": 120}
  --log-level <level>     node log level (default warn)
  --help                  this text
`;

const num = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const argsSchema = z.object({
  nodes: num(1, 253).default(2),
  'first-host': num(1, 254).default(2),
  port: num(0, 65535).default(DEFAULT_SIM_PORT),
  manager: z.string().url().default('http://127.0.0.1:5080'),
  password: z.string().min(1).optional(),
  'data-dir': z.string().min(1).default(process.env.SM_SERVER_DATADIR || './data'),
  capacity: num(1, 10_000_000).optional(),
  'reporting-speed': num(100, 3_600_000).default(10_000),
  'api-token': z.string().optional(),
  provision: z.boolean().default(false),
  token: z.string().optional(),
  zone: z.string().min(1).default('us-test1-a'),
  type: z.string().min(1).default('standard'),
  script: z.string().optional(),
  'log-level': z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  help: z.boolean().default(false),
});

const stepSchema = z.object({
  at: z.number().int().min(0),
  node: z.string().min(1),
  stream: z.string().regex(/^[^/]+(\/[^/]+)*$/, 'use scope/name, e.g. live/stream1'),
  publishers: z.number().int().min(0).optional(),
  subscribers: z.number().int().min(0).optional(),
});
const scriptSchema = z.array(stepSchema);
type Step = z.infer<typeof stepSchema>;

function fail(message: string): never {
  process.stderr.write(`simulate: ${message}\n`);
  process.exit(2);
}

function readArgs() {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: process.argv.slice(2).filter((a) => a !== '--'),
      options: {
        nodes: { type: 'string' },
        'first-host': { type: 'string' },
        port: { type: 'string' },
        manager: { type: 'string' },
        password: { type: 'string' },
        'data-dir': { type: 'string' },
        capacity: { type: 'string' },
        'reporting-speed': { type: 'string' },
        'api-token': { type: 'string' },
        provision: { type: 'boolean' },
        token: { type: 'string' },
        zone: { type: 'string' },
        type: { type: 'string' },
        script: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail(`${(e as Error).message}\n\n${HELP}`);
  }
  const r = argsSchema.safeParse(values);
  if (!r.success) fail(`${describeZodIssues(r.error.issues, '--')}\n\n${HELP}`.replace(/--\./g, '--'));
  return r.data;
}

function loadScript(file: string): Step[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`cannot read load script ${file}: ${(e as Error).message}`);
  }
  const r = scriptSchema.safeParse(raw);
  if (!r.success) fail(`load script ${file}: ${describeZodIssues(r.error.issues, 'step')}`);
  return r.data.sort((a, b) => a.at - b.at);
}

/** Applies one script step to one node: publish/unpublish are sent at once, counts ride on the next report. */
async function applyStep(node: SimNode, step: Step) {
  const cut = step.stream.lastIndexOf('/');
  const scope = cut > 0 ? step.stream.slice(0, cut) : 'live';
  const name = cut > 0 ? step.stream.slice(cut + 1) : step.stream;
  const live = node.streams().find((s) => s.scope === `/${scope}` && s.name === name);
  const publishers = step.publishers ?? live?.publishers ?? 0;
  const subscribers = step.subscribers ?? live?.subscribers ?? 0;
  if (publishers > 0 && !live) await node.publish(scope, name);
  if (publishers === 0 && subscribers === 0) {
    if (live) await node.unpublish(scope, name);
    return;
  }
  node.setStreams(
    node
      .streams()
      .filter((s) => !(s.scope === `/${scope}` && s.name === name))
      .concat([{ scope: `/${scope}`, name, publishers, subscribers }]),
  );
}

function describe(s: SimNodeState) {
  return s.status === 'assigned' ? `${s.status} ${s.role ?? '?'} of ${s.group ?? '?'}${s.drain ? ' (draining)' : ''}` : s.status;
}

async function provision(args: z.infer<typeof argsSchema>, nodes: SimNode[]) {
  const token = args.token || process.env.SM_REST_ADMINISTRATORTOKEN || readKeptSecret(args['data-dir'], ADMIN_TOKEN_FILE);
  if (!token) throw new Error(`--provision needs --token <rest.administratorToken> (none in ${args['data-dir']}/${ADMIN_TOKEN_FILE})`);
  const body = nodes.map((n) => ({ location: args.zone, host: n.host, port: n.port, instanceType: args.type }));
  const url = `${args.manager.replace(/\/+$/, '')}/streammanager/api/4.0/admin/controller/provisions?accessToken=${encodeURIComponent(token)}`;
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`provisioning failed (${res.statusCode}): ${text}`);
  console.log(`provisioned ${nodes.length} hosts in ${args.zone} as ${args.type}`);
}

async function main() {
  const args = readArgs();
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  const steps = args.script ? loadScript(args.script) : [];
  const password = args.password || process.env.SM_CLUSTER_PASSWORD || readKeptSecret(args['data-dir'], CLUSTER_PASSWORD_FILE);
  if (!password) fail(`no cluster password: pass --password, set SM_CLUSTER_PASSWORD, or point --data-dir at the manager's data dir (${args['data-dir']}/${CLUSTER_PASSWORD_FILE} not found)`);
  const log = createLogger(args['log-level']);
  const stamp = () => new Date().toISOString().slice(11, 23);
  const nodes = await startSimCluster(args.nodes, {
    firstHost: args['first-host'],
    port: args.port,
    manager: args.manager,
    clusterPassword: password,
    accessToken: args['api-token'],
    capacity: args.capacity,
    reportingSpeed: args['reporting-speed'],
    log,
    onStateChange: (node, prev, next) =>
      console.log(
        `${stamp()} ${node.host}:${node.port} ${describe(prev)} -> ${describe(next)}` +
          (next.parents.length ? ` parents=${next.parents.join(',')}` : '') +
          ` every ${next.reportingSpeed}ms`,
      ),
  }).catch((e: Error) => fail(`cannot start nodes: ${e.message} (is --port free on 127.0.0.x?)`));
  console.log(`${nodes.length} simulated nodes reporting to ${args.manager}: ${nodes.map((n) => `${n.host}:${n.port}`).join(' ')}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping simulated nodes');
    await Promise.all(nodes.map((n) => n.stop()));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  if (args.provision) {
    try {
      await provision(args, nodes);
    } catch (e) {
      console.error(`simulate: ${(e as Error).message}`);
      await Promise.all(nodes.map((n) => n.stop()));
      process.exit(1);
    }
  }

  for (const step of steps) {
    setTimeout(() => {
      const targets = step.node === '*' ? nodes : nodes.filter((n) => n.host === step.node);
      if (!targets.length) console.error(`simulate: step at ${step.at}ms names unknown node ${step.node}`);
      for (const n of targets) {
        applyStep(n, step)
          .then(() => console.log(`${stamp()} ${n.host}:${n.port} ${step.stream} publishers=${step.publishers ?? '-'} subscribers=${step.subscribers ?? '-'}`))
          .catch((e: Error) => console.error(`simulate: ${n.host} ${step.stream}: ${e.message}`));
      }
    }, step.at);
  }
  // Keep the process alive until SIGINT (node timers are unref'd on the system clock).
  setInterval(() => undefined, 1 << 30);
}

void main();
