/**
 * @chatmesh/load-tests: benchmarks of chatmesh, run as scripts (never as timed tests). This barrel holds
 * the pure parts they share: options, scenario plans, latency and rate arithmetic, and the machine
 * description stored with every result. The runnable benchmarks live beside `src/`, one folder each
 * (`message-path/bench.ts`).
 */
export { BenchError, type BenchErrorContext } from './errors.js';
export {
  parseMessagePathOptions,
  MESSAGE_PATH_USAGE,
  type MessagePathOptions,
  type BenchMode,
  type BenchScenario,
  type OnlineDevices,
} from './bench-options.js';
export {
  createScenarioPlan,
  createChatCommand,
  sendMessageCommand,
  originOf,
  BENCH_DEVICE_ID,
  type PlannedChat,
  type ScenarioPlan,
  type ScenarioPlanOptions,
} from './scenario-plan.js';
export { quantileOf, summarizeLatencies, type LatencySummary } from './latency-stats.js';
export { rateBetween, type ProgressSample, type MeasuredRate } from './progress-samples.js';
export { readMachineInfo, type MachineInfo } from './machine-info.js';
export { renderResultTable, resultFileName, type MessagePathResult } from './result-report.js';
