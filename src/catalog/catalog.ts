import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ROLES, type Alarm, type LaunchConfig, type Role, type ScalePolicy } from '../domain/types.ts';
import { nameSchema, parseLaunchConfig } from '../domain/launch-config.ts';
import { parseScalePolicy } from '../domain/scale-policy.ts';
import { StoreConflictError, type ClusterStore } from '../store/cluster-store.ts';
import { badRequest, conflict, describeZodIssues, notFound } from '../lib/errors.ts';
import { parseLenientJson } from '../lib/lenient-json.ts';
import { deepFreeze } from '../lib/deep-freeze.ts';
import { createSerial } from '../lib/serial.ts';
import type { Logger } from '../lib/logger.ts';

/** Scale-out threshold (percent) of a role nobody has set (reference §2.3). */
export const DEFAULT_THRESHOLD = 60;

/**
 * Stable alarm ids, in the order the classic product introduced the roles (edge and origin in 2.0,
 * relay and transcoder in 3.1); the classic example answers id 1 for edge.
 */
const ALARM_ID: Record<Role, number> = { edge: 1, origin: 2, relay: 3, transcoder: 4 };

export type CatalogAlarm = Alarm & { id: number };

export interface ImportResult {
  launchConfigs: string[];
  scalePolicies: string[];
}

/**
 * Launch configurations, scale policies and scale-out alarms. The store is the truth; the catalog keeps a
 * cache so the autoscaler and the broker read synchronously. Cached documents are frozen: callers share
 * them and must copy before changing anything.
 */
export interface Catalog {
  launchConfig(name: string): LaunchConfig | null;
  scalePolicy(name: string): ScalePolicy | null;
  launchConfigNames(): string[];
  scalePolicyNames(): string[];
  threshold(role: Role): number;
  alarm(role: Role): CatalogAlarm;

  createLaunchConfig(body: unknown): Promise<LaunchConfig>;
  updateLaunchConfig(name: string, body: unknown): Promise<LaunchConfig>;
  /** Returns the deleted document. 409 while a node group uses it. */
  deleteLaunchConfig(name: string): Promise<LaunchConfig>;
  copyLaunchConfig(name: string, newName: string): Promise<LaunchConfig>;

  createScalePolicy(body: unknown): Promise<ScalePolicy>;
  updateScalePolicy(name: string, body: unknown): Promise<ScalePolicy>;
  deleteScalePolicy(name: string): Promise<ScalePolicy>;
  copyScalePolicy(name: string, newName: string): Promise<ScalePolicy>;

  setThreshold(role: Role, threshold: number): Promise<CatalogAlarm>;

  /** Re-reads everything from the store (another manager instance may have written). */
  reload(): Promise<void>;
  /** Boot-time import of `*.json` files whose names the store does not have yet. */
  importDirectories(launchDir: string, policyDir: string): Promise<ImportResult>;
}

/** One kind of named document: launch configurations and scale policies share every rule. */
interface Kind<T extends { name: string }> {
  /** "launch configuration" / "scale policy", for messages. */
  what: string;
  /** Group field that references this kind (in-use check on delete). */
  groupField: 'launchConfig' | 'scalePolicy';
  parse(body: unknown, opts: { pathName?: string; defaultName?: string }): T;
  list(): Promise<T[]>;
  get(name: string): Promise<T | null>;
  create(doc: T): Promise<void>;
  update(doc: T): Promise<boolean>;
  remove(name: string): Promise<boolean>;
}

export async function createCatalog(deps: { store: ClusterStore; log: Logger }): Promise<Catalog> {
  const { store, log } = deps;

  const launchKind: Kind<LaunchConfig> = {
    what: 'launch configuration',
    groupField: 'launchConfig',
    parse: parseLaunchConfig,
    list: () => store.listLaunchConfigs(),
    get: (n) => store.getLaunchConfig(n),
    create: (d) => store.createLaunchConfig(d),
    update: (d) => store.updateLaunchConfig(d),
    remove: (n) => store.deleteLaunchConfig(n),
  };
  const policyKind: Kind<ScalePolicy> = {
    what: 'scale policy',
    groupField: 'scalePolicy',
    parse: parseScalePolicy,
    list: () => store.listScalePolicies(),
    get: (n) => store.getScalePolicy(n),
    create: (d) => store.createScalePolicy(d),
    update: (d) => store.updateScalePolicy(d),
    remove: (n) => store.deleteScalePolicy(n),
  };

  let launchConfigs = new Map<string, LaunchConfig>();
  let policies = new Map<string, ScalePolicy>();
  let thresholds = new Map<Role, number>();

  // Writes and reloads run one at a time, so the cache always ends in the order the store saw the writes.
  const serial = createSerial();

  async function load() {
    const [lcs, sps, alarms] = await Promise.all([store.listLaunchConfigs(), store.listScalePolicies(), store.listAlarms()]);
    // Swap only once every read succeeded: a failed reload keeps serving the previous view.
    launchConfigs = new Map(lcs.map((d) => [d.name, deepFreeze(d)]));
    policies = new Map(sps.map((d) => [d.name, deepFreeze(d)]));
    thresholds = new Map(alarms.map((a) => [a.role, a.threshold]));
  }

  function checkName(name: string, field: string) {
    const r = nameSchema.safeParse(name);
    if (!r.success) throw badRequest(`Invalid ${field}: ${describeZodIssues(r.error.issues)}`, 'SM_VALIDATION');
  }

  function ops<T extends { name: string }>(kind: Kind<T>, cache: () => Map<string, T>) {
    const duplicate = (name: string) => conflict(`A ${kind.what} named ${name} already exists; choose another name or update it with PUT.`);
    const missing = (name: string) => notFound(`No ${kind.what} named ${name}.`);

    async function insert(doc: T): Promise<T> {
      try {
        await kind.create(doc);
      } catch (e) {
        if (e instanceof StoreConflictError) throw duplicate(doc.name);
        throw e;
      }
      cache().set(doc.name, deepFreeze(doc));
      return doc;
    }

    return {
      create: (body: unknown) => serial(() => insert(kind.parse(body, {}))),

      update: (name: string, body: unknown) =>
        serial(async () => {
          const doc = kind.parse(body, { pathName: name });
          if (!(await kind.update(doc))) {
            cache().delete(name);
            throw missing(name);
          }
          cache().set(name, deepFreeze(doc));
          return doc;
        }),

      remove: (name: string) =>
        serial(async () => {
          const doc = await kind.get(name);
          if (!doc) {
            cache().delete(name);
            throw missing(name);
          }
          const users = (await store.listGroups()).filter((g) => g[kind.groupField] === name).map((g) => g.name);
          if (users.length) {
            throw conflict(`The ${kind.what} ${name} is used by node group(s) ${users.join(', ')}; delete those groups first.`);
          }
          if (!(await kind.remove(name))) {
            cache().delete(name);
            throw missing(name);
          }
          cache().delete(name);
          return doc;
        }),

      copy: (name: string, newName: string) =>
        serial(async () => {
          checkName(newName, 'newName');
          const src = await kind.get(name);
          if (!src) {
            cache().delete(name);
            throw missing(name);
          }
          // Through parse again, so a copy of a document written by an older version comes out normalised.
          return insert(kind.parse({ ...src, name: newName }, {}));
        }),

      /** Boot import of one directory; invalid files are logged and skipped, the rest still load. */
      importDir: async (dir: string): Promise<string[]> => {
        let files: string[];
        try {
          files = (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.json')).sort();
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
            log.warn({ dir }, `no ${kind.what} directory to import from`);
            return [];
          }
          throw e;
        }
        const imported: string[] = [];
        for (const f of files) {
          const file = join(dir, f);
          let doc: T;
          try {
            doc = kind.parse(parseLenientJson(await readFile(file, 'utf8')), { defaultName: basename(f, '.json') });
          } catch (e) {
            log.error({ file }, `skipping ${kind.what} file ${file}: ${(e as Error).message}`);
            continue;
          }
          if (cache().has(doc.name)) continue;
          try {
            await serial(() => insert(doc));
            imported.push(doc.name);
            log.info({ file, name: doc.name }, `imported ${kind.what} ${doc.name}`);
          } catch (e) {
            // Another manager instance imported it first, or two files carry the same name: the store keeps one.
            if ((e as { statusCode?: number }).statusCode === 409) log.warn({ file, name: doc.name }, `${kind.what} ${doc.name} already exists; ${file} not imported`);
            else throw e;
          }
        }
        return imported;
      },
    };
  }

  const lc = ops(launchKind, () => launchConfigs);
  const sp = ops(policyKind, () => policies);

  const alarmOf = (role: Role): CatalogAlarm => ({ id: ALARM_ID[role], role, threshold: thresholds.get(role) ?? DEFAULT_THRESHOLD });

  await load();

  return {
    launchConfig: (name) => launchConfigs.get(name) ?? null,
    scalePolicy: (name) => policies.get(name) ?? null,
    launchConfigNames: () => [...launchConfigs.keys()].sort(),
    scalePolicyNames: () => [...policies.keys()].sort(),
    threshold: (role) => thresholds.get(role) ?? DEFAULT_THRESHOLD,
    alarm: alarmOf,

    createLaunchConfig: lc.create,
    updateLaunchConfig: lc.update,
    deleteLaunchConfig: lc.remove,
    copyLaunchConfig: lc.copy,
    createScalePolicy: sp.create,
    updateScalePolicy: sp.update,
    deleteScalePolicy: sp.remove,
    copyScalePolicy: sp.copy,

    setThreshold: (role, threshold) =>
      serial(async () => {
        if (!ROLES.includes(role)) throw badRequest(`Invalid type: must be one of ${ROLES.join(', ')}.`, 'SM_VALIDATION');
        if (!Number.isInteger(threshold) || threshold < 1 || threshold > 100) {
          throw badRequest(`Invalid threshold: must be an integer from 1 to 100, got ${JSON.stringify(threshold)}.`, 'SM_VALIDATION');
        }
        await store.setAlarm({ role, threshold });
        thresholds.set(role, threshold);
        return alarmOf(role);
      }),

    reload: () => serial(load),

    importDirectories: async (launchDir, policyDir) => ({
      launchConfigs: await lc.importDir(launchDir),
      scalePolicies: await sp.importDir(policyDir),
    }),
  };
}
