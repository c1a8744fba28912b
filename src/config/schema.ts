import { z } from 'zod';

/**
 * Every configuration key the manager reads. The typed config mirrors the property names exactly:
 * key `instancecontroller.nodeStateToleranceTime` is `config.instancecontroller.nodeStateToleranceTime`.
 * Classic keys keep their classic defaults (reference/classic-api.md §6); keys of our own are marked "ours".
 * Keys not listed here (webapp.*, spring.*, aws.*, compute.*...) are accepted and ignored.
 */

// Empty property values (`location.region=`) mean "not set": fall back to the default.
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v);

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => {
      const b = blankToUndefined(v);
      return typeof b === 'string' && /^-?\d+(\.0+)?$/.test(b) ? Number(b) : b;
    },
    z.number({ invalid_type_error: 'must be a whole number' }).int('must be a whole number').min(min).max(max).default(def),
  );

const bool = (def: boolean) =>
  z.preprocess((v) => {
    const b = blankToUndefined(v);
    if (typeof b === 'string') {
      const l = b.toLowerCase();
      if (l === 'true') return true;
      if (l === 'false') return false;
    }
    return b;
  }, z.boolean({ invalid_type_error: 'must be true or false' }).default(def));

const str = (def: string) => z.preprocess(blankToUndefined, z.string().default(def));
const optStr = () => z.preprocess((v) => (typeof v === 'string' ? v.trim() : v), z.string().default(''));
const list = (def: string[]) =>
  z.preprocess((v) => {
    const b = blankToUndefined(v);
    return typeof b === 'string' ? b.split(',').map((s) => s.trim()).filter(Boolean) : b;
  }, z.array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'names may hold letters, digits, dot, dash, underscore')).min(1).default(def));

export const configSchema = z.object({
  server: z
    .object({
      host: str('0.0.0.0'), // ours
      port: int(5080, 0, 65535), // ours
      dataDir: str('./data'), // ours
      logLevel: z.preprocess(blankToUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')), // ours
      /** ours: `json` (one JSON object a line), `pretty` (readable lines), `auto` (pretty when stdout is a terminal). */
      logFormat: z.preprocess(blankToUndefined, z.enum(['auto', 'json', 'pretty']).default('auto')),
      /** ours: how often an instance reloads cluster state written by other instances (MySQL only). */
      syncInterval: int(2000, 100),
      /** ours: a request (headers and body) must arrive within this long (ms; slow bodies get 408). */
      requestTimeout: int(30000, 0),
      /** ours: request headers must arrive within this long (ms; slow headers get 408). */
      headersTimeout: int(10000, 1),
      /** ours: an idle keep-alive connection is closed after this long (ms). */
      keepAliveTimeout: int(72000, 1),
    })
    .default({}),
  config: z
    .object({
      dbHost: optStr(), // empty: embedded SQLite store
      dbPort: int(3306, 1, 65535),
      dbUser: str('root'),
      dbPass: optStr(),
      dbName: str('cluster'), // ours
      /** ours: a query not answered within this many ms fails with 503 (and the leader steps down). */
      dbQueryTimeout: int(5000, 100),
      /** ours: requests waiting for a database connection beyond this many fail at once with 503. */
      dbQueueLimit: int(100, 1),
    })
    .default({}),
  store: z.object({ usageStatsDiscardThresholdDays: int(7) }).default({}),
  instancecontroller: z
    .object({
      newNodePingTimeThreshold: int(150000, 1),
      replaceDeadClusters: bool(true),
      deleteDeadGroupNodesOnCleanUp: bool(true),
      instanceNamePrefix: z.preprocess(blankToUndefined, z.string().regex(/^[a-z0-9-]{1,40}$/, 'use 1-40 lower-case letters, digits or dashes').default('node')),
      nodeGroupStateToleranceTime: int(180000, 1),
      nodeStateToleranceTime: int(30000, 1),
      cloudCleanupInterval: int(180000, 1),
      blackListCleanUpTime: int(600000, 0),
      pathMonitorInterval: int(30000, 1),
      minimumNodeFreeMemory: int(50, 0, 100),
      /** ours: a draining node is terminated after this long even if clients remain (ms). */
      drainTimeout: int(600000, 0),
    })
    .default({}),
  instanceevaluator: z
    .object({
      'streams.metricweight': int(30, 0, 1000),
      'connections.metricweight': int(15, 0, 1000),
      'subscribers.metricweight': int(60, 0, 1000),
      'memory.metricweight': int(20, 0, 1000),
      'restreamer.metricweight': int(35, 0, 1000),
    })
    .default({}),
  cluster: z
    .object({
      /** empty: generated at first start and kept in `<dataDir>/cluster-password` (never the classic `changeme`). */
      password: optStr(),
      publicPort: int(1935, 1, 65535),
      accessPort: int(5080, 1, 65535),
      reportingSpeed: int(10000, 100),
      retryDuration: int(30, 0),
      mode: str('auto'),
      idleClusterPathThreshold: int(30000, 0),
      /** ours: a node's reports must keep coming from one source address (false behind NAT or a relay). */
      reportSourceCheck: bool(true),
    })
    .default({}),
  streammanager: z.object({ ip: optStr() }).default({}),
  location: z.object({ region: optStr(), geozone: optStr(), strict: bool(false) }).default({}),
  managed: z
    .object({
      regionNames: list(['us-test1']),
      availabilityZoneNames: list(['us-test1-a']),
      operationTimeoutMilliseconds: int(20000, 0),
      recycleDeadNodes: bool(true),
    })
    .default({}),
  /** ours: which cloud controller to use. */
  cloud: z.object({ controller: z.preprocess(blankToUndefined, z.enum(['simulated']).default('simulated')) }).default({}),
  rest: z.object({ administratorToken: optStr() }).default({}),
  serverapi: z
    .object({
      port: int(5080, 1, 65535),
      protocol: z.preprocess(blankToUndefined, z.enum(['http', 'https']).default('http')),
      version: str('v1'),
      accessToken: optStr(),
      /** ours: timeout of manager → node calls (ms). */
      timeout: int(2000, 1),
    })
    .default({}),
  debug: z.object({ logaccess: bool(false), logcachexpiretime: int(60000) }).default({}),
  proxy: z
    .object({
      enabled: bool(true),
      /** ours: close a proxied session after this long without a frame either way (ms, 0 = never). */
      idleTimeout: int(3_600_000, 0),
      /** ours: ping both legs this often (ms). */
      pingInterval: int(30000, 1000),
      /** ours: upstream handshake timeout (ms). */
      handshakeTimeout: int(5000, 100),
      /** ours: maximum concurrent sessions (further upgrades get 503). */
      maxSessions: int(20000, 1),
      /** ours: maximum concurrent sessions from one client address (further upgrades get 429); 0 = no cap. */
      maxSessionsPerClient: int(100, 0),
      /** ours: forget a WHIP/WHEP session after this long without a request on it (ms, 0 = never). */
      whipSessionTtl: int(21_600_000, 0),
    })
    .default({}),
  /** ours */
  autoscaler: z
    .object({
      tickInterval: int(1000, 10),
      /** A tick still running after this many ms is abandoned and the leader gives up the lease (0 = two tick intervals). */
      tickBudget: int(0, 0),
    })
    .default({}),
  /** ours: broker reads per second per client address (token bucket, burst 5x, at least 10); 0 = no limit. */
  broker: z.object({ rateLimitPerSecond: int(20, 0) }).default({}),
  /** ours: how often the operator dashboard reloads the cluster state (ms). */
  dashboard: z.object({ refreshInterval: int(2000, 100) }).default({}),
  /** ours: when set, GET /metrics needs `Authorization: Bearer <token>`. */
  metrics: z.object({ token: optStr() }).default({}),
});

export type Config = z.infer<typeof configSchema>;

/** Keys whose values never appear in logs or error messages. */
export const SECRET_KEYS = new Set(['config.dbPass', 'cluster.password', 'rest.administratorToken', 'serverapi.accessToken', 'metrics.token']);

/** `section.key` names of every known key, used to map SM_* environment variables. */
export function knownKeys(): string[] {
  const keys: string[] = [];
  for (const [section, schema] of Object.entries(configSchema.shape)) {
    const inner = (schema as z.ZodDefault<z.ZodObject<z.ZodRawShape>>)._def.innerType;
    for (const k of Object.keys(inner.shape)) keys.push(`${section}.${k}`);
  }
  return keys;
}
