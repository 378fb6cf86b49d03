/**
 * Runs the presence service as its own process (stack mode): wiring only. `npm run stack`
 * spawns it; see {@link runServiceProcess} for the configuration, clients and shutdown it sets up.
 */
import { runServiceProcess } from '@chatmesh/runtime';
import { presenceService } from './service.js';

await runServiceProcess(presenceService);
