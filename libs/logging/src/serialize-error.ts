/** The shape an error takes in a log line. */
export interface SerializedError {
  type: string;
  message: string;
  code?: string;
  retriable?: boolean;
  context?: Record<string, unknown>;
  stack?: string;
  cause?: SerializedError | unknown;
}

const MAX_CAUSE_DEPTH = 5;

/**
 * Turns any thrown value into a plain object for pino, keeping chatmesh's `code`, `retriable` and
 * `context` (and any foreign error's `code`, such as `ECONNREFUSED`), and following `cause` a few
 * levels so the root of a wrapped failure reaches the log.
 */
export function serializeError(error: unknown, depth = 0): SerializedError | unknown {
  if (!(error instanceof Error)) return error;
  const fields = error as Error & { code?: unknown; retriable?: unknown; context?: unknown };
  const out: SerializedError = { type: error.name, message: error.message };
  if (typeof fields.code === 'string' || typeof fields.code === 'number') out.code = String(fields.code);
  if (typeof fields.retriable === 'boolean') out.retriable = fields.retriable;
  if (fields.context !== null && typeof fields.context === 'object') out.context = { ...fields.context };
  if (error.stack !== undefined) out.stack = error.stack;
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(error.cause, depth + 1);
  return out;
}
