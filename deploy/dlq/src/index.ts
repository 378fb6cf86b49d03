/**
 * @chatmesh/dlq: the dead-letter tool (`npm run dlq -- list | show | replay`). It reads the twins
 * `<topic>.dlq` with a throwaway consumer group, decodes the DeadLetter envelopes and their original
 * values through the codec, and re-produces selected originals to their topics at most once per twin
 * offset (remembered in the compacted marker topic `<twin>.replayed`).
 */
export {
  runDlqCli,
  connectToStack,
  exitCodeOf,
  parseSince,
  EXIT_CODES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_LIST_LIMIT,
} from './program.js';
export type { DlqCliDeps, DlqConnection } from './program.js';
export {
  listDeadLetters,
  showDeadLetter,
  replayDeadLetters,
  REPLAYED_FROM_HEADER,
  type DlqContext,
  type ListOptions,
  type ListResult,
  type ReplayOptions,
  type ReplayOutcome,
  type ReplayResult,
} from './commands.js';
export {
  readDeadLetters,
  listTwins,
  formatPosition,
  parsePosition,
  NOTICE_TWIN,
  NOTICE_CODE,
  type DeadLetterEntry,
  type TwinPosition,
} from './dead-letters.js';
export { markerTopicOf, REPLAYED_SUFFIX, type ReplayMarker } from './markers.js';
export { readToEnd, READER_GROUP_PREFIX } from './read-topics.js';
export { loadDlqConfig, type DlqConfig } from './config.js';
export { DlqError } from './errors.js';
