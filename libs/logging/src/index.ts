/**
 * @chatmesh/logging: structured JSON logs (pino) with `service` and `component` bindings and
 * errors serialised with their stable `code`.
 */
export {
  createLogger,
  createComponentLogger,
  type Logger,
  type LoggerLevel,
  type CreateLoggerOptions,
} from './create-logger.js';
export { serializeError, type SerializedError } from './serialize-error.js';
export { createSampledLog, type SampledLog, type SampledLogOptions } from './sampled-log.js';
