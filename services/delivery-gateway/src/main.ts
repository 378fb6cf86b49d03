/**
 * Runs the delivery-gateway service as its own process (stack mode): wiring only. `npm run stack`
 * spawns it; see {@link runServiceProcess} for the configuration, clients and shutdown it sets up.
 */
import { runServiceProcess } from '@chatmesh/runtime';
import { deliveryGatewayService } from './service.js';

await runServiceProcess(deliveryGatewayService);
