import type { Config } from './config/schema.ts';
import type { Clock } from './lib/clock.ts';
import type { Logger } from './lib/logger.ts';
import type { ClusterStore } from './store/cluster-store.ts';
import type { CloudController } from './cloud/cloud-controller.ts';

/** Everything the app needs, built once by createDeps() (the composition root). */
export interface AppDeps {
  config: Config;
  clock: Clock;
  log: Logger;
  store: ClusterStore;
  cloud: CloudController;
  /** rest.administratorToken, or the generated one kept in dataDir. */
  adminToken: string;
}
