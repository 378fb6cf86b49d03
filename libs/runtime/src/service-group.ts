import type { Logger } from '@chatmesh/logging';
import type { ChatmeshMetrics } from '@chatmesh/metrics';
import { RuntimeError } from './errors.js';
import type { HealthReport, ServiceDeps, ServiceHandle, ServiceModule } from './service-module.js';
import { createTypedTopics } from './typed-topics.js';

/** Several services started together in one process, stopped in reverse order. */
export interface ServiceGroup {
  readonly names: readonly string[];
  /** Each service's report, by name; also refreshes the up/ready gauges. */
  health(): Record<string, HealthReport>;
  /** True when every service reports ready. */
  isReady(): boolean;
  /** Stops every service, last started first; a failing stop is logged and the others still stop. */
  stop(): Promise<void>;
}

/** What every service of the group shares; each gets its own child logger and typed helper. */
export type SharedDeps = Omit<ServiceDeps, 'logger' | 'typed'> & { readonly logger: Logger };

/**
 * Starts `modules` in order with shared deps. If one fails, the ones already started are stopped
 * again (reverse order) and the failure is thrown, so a process never runs half its services.
 *
 * @throws RuntimeError `CM_ERR_RUNTIME_DUPLICATE_SERVICE` when a name appears twice
 * @throws RuntimeError `CM_ERR_RUNTIME_SERVICE_START_FAILED` with the service's error as `cause`
 */
export async function startServiceGroup(modules: readonly ServiceModule[], deps: SharedDeps): Promise<ServiceGroup> {
  const names = modules.map((module) => module.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) {
    throw new RuntimeError('CM_ERR_RUNTIME_DUPLICATE_SERVICE', `service "${duplicate}" is listed twice`, {
      context: { service: duplicate },
    });
  }

  const handles: ServiceHandle[] = [];
  const stopped = new Set<string>();
  const stopAll = async (): Promise<void> => {
    for (const handle of [...handles].reverse()) {
      if (stopped.has(handle.name)) continue;
      stopped.add(handle.name);
      try {
        await handle.stop();
      } catch (error) {
        deps.logger.error({ err: error, service: handle.name }, 'service failed to stop cleanly');
      } finally {
        setGauges(deps.metrics, handle.name, false, false);
      }
    }
  };

  for (const module of modules) {
    const logger = deps.logger.child({ component: module.name });
    try {
      const handle = await module.start({
        ...deps,
        logger,
        typed: createTypedTopics({ bus: deps.bus, codec: deps.codec, metrics: deps.metrics, logger }),
      });
      handles.push(handle);
      setGauges(deps.metrics, module.name, true, handle.health().ready);
      logger.info({ consumes: module.consumes, produces: module.produces }, 'service started');
    } catch (error) {
      await stopAll();
      throw new RuntimeError('CM_ERR_RUNTIME_SERVICE_START_FAILED', `service "${module.name}" failed to start`, {
        cause: error,
        context: { service: module.name },
      });
    }
  }

  const health = (): Record<string, HealthReport> => {
    const reports: Record<string, HealthReport> = {};
    for (const handle of handles) {
      const report: HealthReport = stopped.has(handle.name) ? { status: 'stopped', ready: false } : handle.health();
      reports[handle.name] = report;
      setGauges(deps.metrics, handle.name, !stopped.has(handle.name), report.ready);
    }
    return reports;
  };

  return {
    names,
    health,
    isReady: () => Object.values(health()).every((report) => report.ready),
    stop: stopAll,
  };
}

function setGauges(metrics: ChatmeshMetrics, service: string, up: boolean, ready: boolean): void {
  metrics.serviceUpBoolean.set({ service }, up ? 1 : 0);
  metrics.serviceReadyBoolean.set({ service }, ready ? 1 : 0);
}
