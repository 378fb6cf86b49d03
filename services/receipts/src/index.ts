/**
 * @chatmesh/receipts: keeps per-member delivered and read pointers per chat and tells senders about status changes through their inbox. Exports its {@link ServiceModule}, which the
 * embedded launcher runs in-process and `src/main.ts` runs as its own process.
 */
export { receiptsService } from './service.js';
