/**
 * @chatmesh/launcher: runs chatmesh. `src/embedded-main.ts` (`npm start`) runs every service in one
 * process on the in-process bus; `src/stack-main.ts` (`npm run stack`) runs each service as its own
 * process against real servers. Exports the service table and the launcher's configuration section.
 */
export { SERVICE_MODULES, CONFIG_SECTIONS, METRIC_TABLES, selectModules } from './service-modules.js';
export { STACK_CONFIG, STACK_DEFAULTS, LAUNCHER_SECTIONS } from './stack-config.js';
export { renderEmbeddedBanner } from './banner.js';
export {
  spawnServiceProcess,
  stopServiceProcesses,
  waitForReady,
  type StackProcess,
  type SpawnServiceOptions,
} from './stack-processes.js';
export { CONTRACT_DOCUMENTS, renderContractDocument, type ContractDocument } from './contract/documents.js';
export { buildTopicsAsyncApi, AVRO_SCHEMA_FORMAT } from './contract/topics-asyncapi.js';
export { buildWebSocketAsyncApi, WEBSOCKET_PATH } from './contract/websocket-asyncapi.js';
