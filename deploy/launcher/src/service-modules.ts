import type { ServiceName } from '@chatmesh/config';
import { SERVICE_NAMES } from '@chatmesh/config';
import type { MetricTable } from '@chatmesh/metrics';
import { deliveryGatewayService } from '@chatmesh/delivery-gateway';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import { presenceService } from '@chatmesh/presence';
import { pushService } from '@chatmesh/push';
import { receiptsService } from '@chatmesh/receipts';
import { collectConfigSections, type ServiceModule } from '@chatmesh/runtime';
import { LAUNCHER_SECTIONS } from './stack-config.js';

/** Every service module by name. */
export const SERVICE_MODULES: Readonly<Record<ServiceName, ServiceModule>> = Object.freeze({
  ingest: ingestService,
  'fan-out': fanOutService,
  receipts: receiptsService,
  push: pushService,
  presence: presenceService,
  'delivery-gateway': deliveryGatewayService,
});

/** The modules named in `names`, in the canonical start order of {@link SERVICE_NAMES}. */
export function selectModules(names: readonly ServiceName[]): ServiceModule[] {
  return SERVICE_NAMES.filter((name) => names.includes(name)).map((name) => SERVICE_MODULES[name]);
}

/**
 * Every configuration section: the launcher's and each service's. Embedded mode validates them all,
 * and `docs/configuration.md` is rendered from them.
 */
export const CONFIG_SECTIONS = Object.freeze({
  ...collectConfigSections(Object.values(SERVICE_MODULES)),
  ...LAUNCHER_SECTIONS,
});

/** Each service's own metric table, by service name (rendered into `docs/metrics.md`). */
export const METRIC_TABLES: Readonly<Record<string, MetricTable>> = Object.freeze(
  Object.fromEntries(Object.values(SERVICE_MODULES).map((module) => [module.name, module.metrics ?? {}])),
);
