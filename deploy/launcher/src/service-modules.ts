import type { ServiceName } from '@chatmesh/config';
import { SERVICE_NAMES } from '@chatmesh/config';
import { deliveryGatewayService } from '@chatmesh/delivery-gateway';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import { presenceService } from '@chatmesh/presence';
import { pushService } from '@chatmesh/push';
import { receiptsService } from '@chatmesh/receipts';
import type { ServiceModule } from '@chatmesh/runtime';

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
