import type { HealthReport } from './service-module.js';

/** The states a service goes through: `starting` → `ready` → `draining` → `stopped`, or `failed`. */
export type ServiceState = HealthReport['status'];

/**
 * The start/stop status machine every service shares. A service is `starting` until what it waits for is ready
 * ({@link readyWhen}), `ready` while it works, `draining` while its {@link stop} runs and `stopped` after;
 * `failed` when it cannot recover ({@link fail}). Readiness never comes back after a stop or a failure, and a
 * second stop waits for the first instead of draining twice.
 */
export class ServiceStatus {
  private current: ServiceState = 'starting';
  private stopping: Promise<void> | null = null;

  get state(): ServiceState {
    return this.current;
  }

  /** True in `starting` and `ready`: the service still takes new work (a draining gateway refuses upgrades). */
  get accepting(): boolean {
    return this.current === 'starting' || this.current === 'ready';
  }

  /**
   * `starting` → `ready` once every promise resolves (its consumers joined their groups). A rejection is not caught
   * here: it reaches the process's crash handlers, as a consumer that cannot join is not something to wait out.
   */
  readyWhen(...ready: ReadonlyArray<Promise<unknown>>): void {
    void Promise.all(ready).then(() => this.markReady());
  }

  /** `starting` → `ready`; in any other state nothing changes. */
  markReady(): void {
    if (this.current === 'starting') this.current = 'ready';
  }

  /** The service cannot go on (it lost its lease...): `failed` until it is stopped. */
  fail(): void {
    if (this.current !== 'draining' && this.current !== 'stopped') this.current = 'failed';
  }

  /**
   * `draining` while `drain` runs, `stopped` once it settled (also when it threw: the error is passed on). Called
   * again, it returns the first stop's promise.
   */
  stop(drain: () => Promise<void>): Promise<void> {
    this.stopping ??= (async () => {
      this.current = 'draining';
      try {
        await drain();
      } finally {
        this.current = 'stopped';
      }
    })();
    return this.stopping;
  }

  /** The report for `/ready` and `/`: ready only in `ready`. */
  health(details?: Readonly<Record<string, unknown>>): HealthReport {
    return { status: this.current, ready: this.current === 'ready', ...(details === undefined ? {} : { details }) };
  }
}
