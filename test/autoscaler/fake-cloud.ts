import { CloudError, type CloudController, type Instance, type LaunchRequest, type TerminateReason } from '../../src/cloud/cloud-controller.ts';
import { clockDelay, type Clock } from '../../src/lib/clock.ts';

/**
 * A tiny CloudController for autoscaler tests: a host pool per zone, a launch delay on the injected clock,
 * injectable per-zone failures and an optional `available()` hint. Hosts are 10.<zone index>.0.<n>.
 */
export class FakeCloud implements CloudController {
  readonly name = 'Fake Cloud';
  readonly regions: string[];
  readonly launches: LaunchRequest[] = [];
  readonly terminated: { identifier: string; reason: TerminateReason }[] = [];
  /** Zone → error code every launch there fails with (after the delay). */
  readonly failZone = new Map<string, 'TIMEOUT' | 'UNREACHABLE' | 'INTERNAL'>();
  private readonly instances = new Map<string, Instance>();
  private next = 1;
  available?: (zone: string, instanceType: string) => Promise<number | null>;

  constructor(
    private readonly clock: Clock,
    readonly zones: string[],
    /** Free hosts per zone (absent zone = unlimited). */
    readonly pool: Map<string, number> = new Map(),
    public delayMs = 0,
    withHint = false,
  ) {
    this.regions = [...new Set(zones.map((z) => this.regionOfZone(z)))];
    if (withHint) this.available = async (zone) => this.pool.get(zone) ?? null;
  }

  regionOfZone(zone: string): string {
    return zone.slice(0, zone.lastIndexOf('-'));
  }

  async launch(req: LaunchRequest): Promise<Instance> {
    this.launches.push(req);
    const free = this.pool.get(req.zone);
    if (free !== undefined) {
      // Reserved at once, like the simulated cloud: a concurrent launch cannot take the same host.
      if (free <= 0) throw new CloudError('POOL_EXHAUSTED', `no free host in ${req.zone}`, false, { zone: req.zone, available: 0 });
      this.pool.set(req.zone, free - 1);
    }
    await clockDelay(this.clock, this.delayMs);
    const fail = this.failZone.get(req.zone);
    if (fail) {
      if (free !== undefined) this.pool.set(req.zone, this.pool.get(req.zone)! + 1);
      throw new CloudError(fail, `launch in ${req.zone} failed (${fail})`, true, { zone: req.zone });
    }
    const inst: Instance = {
      identifier: req.identifier,
      host: `10.${this.zones.indexOf(req.zone)}.0.${this.next++}`,
      port: 5080,
      zone: req.zone,
      region: this.regionOfZone(req.zone),
      instanceType: req.instanceType,
      state: 'running',
      launchTime: this.clock.now(),
    };
    this.instances.set(inst.identifier, inst);
    return inst;
  }

  async terminate(identifier: string, reason: TerminateReason): Promise<void> {
    this.terminated.push({ identifier, reason });
    const inst = this.instances.get(identifier);
    if (inst && this.pool.has(inst.zone)) this.pool.set(inst.zone, this.pool.get(inst.zone)! + 1);
    this.instances.delete(identifier);
  }

  async list(): Promise<Instance[]> {
    return [...this.instances.values()];
  }

  async describe(identifier: string): Promise<Instance | null> {
    return this.instances.get(identifier) ?? null;
  }
}
