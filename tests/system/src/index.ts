/**
 * @chatmesh/system-tests: end-to-end tests of chatmesh's guarantees across services. The guarantee suite
 * ({@link defineGuaranteeSuite}) is written once against a {@link SystemHarness} and run embedded (one
 * process, memory bus and store) and on the real stack (Kafka, registry, Cassandra, Redis; ingest and
 * fan-out as separate processes that are SIGKILLed mid-stream).
 */
export {
  defineGuaranteeSuite,
  waitForPipelineIdle,
  type GuaranteeSuiteOptions,
  type SuiteLoad,
} from './guarantee-suite.js';
export {
  GatewayDriver,
  type CommandBody,
  type CommandOutcome,
  type RetryPolicy,
  type Sender,
} from './gateway-driver.js';
export { startEmbeddedHarness } from './embedded-harness.js';
export { startStackHarness, type StackHarnessOptions } from './stack-harness.js';
export type { StackEndpoints } from '@chatmesh/testing';
export { ServiceProcess, REPO_ROOT } from './service-process.js';
export { CORE_GROUPS, type CoreService, type SystemHarness } from './system-harness.js';
export { expectedInboxes, eventKind, type ExpectedRef } from './expected-inbox.js';
export {
  readChatLog,
  readInbox,
  readWholeLog,
  snapshotStreams,
  type ChatLogRow,
  type InboxRow,
} from './store-views.js';
export { startRunKafka } from './private-kafka.js';
export { startTestJwks, type TestJwks } from './test-jwks.js';
