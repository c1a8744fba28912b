import type { Role } from '../domain/types.ts';

/**
 * The only cloud type the autoscaler and routes know. The simulated cloud is the first implementation;
 * AWS/GCP/Azure controllers implement the same interface and must pass
 * test/cloud/cloud-controller.contract.ts.
 *
 * Every method either resolves or rejects with a CloudError whose `retryable` says whether trying
 * again later can help. Methods never block longer than the controller's operation timeout.
 */
export interface CloudController {
  /** Display name served by GET /admin/debug/cloudcontroller, e.g. `Simulated Cloud Services`. */
  readonly name: string;
  /** Regions and availability zones this controller can launch into. */
  readonly regions: readonly string[];
  readonly zones: readonly string[];
  /** Region of a zone (e.g. `us-test1-a` → `us-test1`). */
  regionOfZone(zone: string): string;

  /**
   * Required. Starts one instance. Resolves once the cloud acknowledges (the simulated cloud waits its
   * simulated delay on the injected clock). Rejects with CloudError `POOL_EXHAUSTED` (not retryable
   * until an operator adds capacity) when nothing can be launched.
   */
  launch(req: LaunchRequest): Promise<Instance>;

  /**
   * Required. Ends an instance. `reason`: `scale-in` returns a simulated host to the pool; `failed` follows
   * the dead-node recycling rule (managed.recycleDeadNodes). Idempotent: terminating an unknown or already
   * terminated instance resolves.
   */
  terminate(identifier: string, reason: TerminateReason): Promise<void>;

  /** Required. Every instance this controller has launched and not yet terminated. */
  list(): Promise<Instance[]>;

  /** Required. One instance, or null when unknown. */
  describe(identifier: string): Promise<Instance | null>;

  /** Optional capacity hint: how many more instances of a zone/type could be launched now (null = unbounded/unknown). */
  available?(zone: string, instanceType: string): Promise<number | null>;

  close?(): Promise<void>;
}

export type TerminateReason = 'scale-in' | 'failed' | 'group-deleted' | 'operator';

export interface LaunchRequest {
  /** Instance name `<prefix>-<zone>-<epoch ms>`; the controller keeps it as the identifier. */
  identifier: string;
  role: Role;
  zone: string;
  instanceType: string;
  group: string;
}

export interface Instance {
  identifier: string;
  /** Address clients and the manager reach. */
  host: string;
  /** Node HTTP port when the cloud knows it (simulated provisions may carry one). */
  port: number | null;
  zone: string;
  region: string;
  instanceType: string;
  state: 'pending' | 'running' | 'terminated';
  launchTime: number;
  /** Group the instance was launched for, when the cloud keeps it (names an orphan in the scale event log). */
  group?: string | null;
}

export type CloudErrorCode = 'POOL_EXHAUSTED' | 'UNKNOWN_ZONE' | 'UNREACHABLE' | 'TIMEOUT' | 'INTERNAL';

export class CloudError extends Error {
  constructor(
    readonly code: CloudErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CloudError';
  }
}
