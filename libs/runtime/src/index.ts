/**
 * @chatmesh/runtime: what every chatmesh process shares: the service contract ({@link ServiceModule}),
 * Avro-typed producing and consuming over the bus with dead-lettering of undecodable records, bus
 * metrics, the ops HTTP server (`/health`, `/ready`, `/metrics`), the service group with ordered
 * start and reverse stop, graceful shutdown on signals, and `runMain` for clean start-up errors.
 */
export type { HealthReport, ServiceDeps, ServiceHandle, ServiceModule } from './service-module.js';
export { ServiceStatus, type ServiceState } from './service-status.js';
export {
  createTypedProducer,
  createTypedTopics,
  createDeadLetterEncoder,
  createTypedSink,
  subscribeTyped,
  type TypedProducer,
  type TypedSink,
  type TypedHandler,
  type TypedBatchHandler,
  type TypedItem,
  type TypedTopics,
  type TypedSubscribeOptions,
  type SubscribeTypedOptions,
  type TopicMap,
  type TopicOf,
} from './typed-topics.js';
export { createBusInstrumentation } from './bus-instrumentation.js';
export { createOpsServer, type OpsServer, type OpsServerOptions } from './ops-server.js';
export { startServiceGroup, type ServiceGroup, type SharedDeps } from './service-group.js';
export { startRuntime, type Runtime, type StartRuntimeOptions } from './start-runtime.js';
export {
  installShutdown,
  FORCED_EXIT_CODE,
  type Shutdown,
  type ShutdownOptions,
  type ProcessLike,
} from './shutdown.js';
export { runMain, CONFIG_EXIT_CODE, START_FAILED_EXIT_CODE, type RunMainOptions } from './run-main.js';
export { RuntimeError, type RuntimeErrorContext } from './errors.js';
export { ensureTopics } from './ensure-topics.js';
export { definePendingService, type PendingServiceOptions } from './pending-service.js';
export { RETENTION_CONFIG, retentionOf } from './retention-config.js';
export { connectStackClients, createStackBusAndCodec, type StackClients } from './stack-clients.js';
export { runServiceProcess } from './run-service-process.js';
export { CORE_PATH_RETRY } from './core-path-retry.js';
export { collectConfigSections } from './config-sections.js';
export { installCrashHandlers, CRASH_EXIT_CODE } from './crash-handlers.js';
export { DEVICES_CONFIG } from './devices-config.js';
export { silentObservability, type Observability } from './silent-observability.js';
