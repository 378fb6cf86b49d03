/**
 * Runs the push service as its own process (stack mode): wiring only. `npm run stack`
 * spawns it; see {@link runServiceProcess} for the configuration, clients and shutdown it sets up.
 */
import { runServiceProcess } from '@chatmesh/runtime';
import { pushService } from './service.js';

await runServiceProcess(pushService);
