/**
 * @chatmesh/ingest: single writer of each chat: validates, authorizes, dedupes and sequences chat commands, stores each message once and emits chat events. Exports its {@link ServiceModule}, which the
 * embedded launcher runs in-process and `src/main.ts` runs as its own process.
 */
export { ingestService, INGEST_GROUP_ID } from './service.js';
export { commandType, INGEST_METRICS, recordCommand, type IngestMetrics } from './metrics.js';
