/**
 * @chatmesh/fan-out: expands chat events into one inbox entry per recipient user, sequences each user inbox and routes entries to gateways or push. Exports its {@link ServiceModule}, which the
 * embedded launcher runs in-process and `src/main.ts` runs as its own process.
 */
export { fanOutService, FAN_OUT_GROUP_ID, INBOX_SEQUENCER_GROUP_ID } from './service.js';
export { FAN_OUT_CONFIG } from './fan-out-config.js';
export {
  countBroadcastPushes,
  FAN_OUT_METRICS,
  recordExpansion,
  recordSequenced,
  type FanOutMetrics,
} from './metrics.js';
