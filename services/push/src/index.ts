/**
 * @chatmesh/push: sends content-free wake-up pushes to offline devices through FCM, APNs and Web Push adapters. Exports its {@link ServiceModule}, which the
 * embedded launcher runs in-process and `src/main.ts` runs as its own process.
 */
export { pushService } from './service.js';
