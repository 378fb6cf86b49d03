import { ChatmeshError } from '@chatmesh/errors';
import { isValidId } from './chat-limits.js';
import { clientFrameSchema, type ClientFrame } from './client-frames.js';

/** A frame the gateway refuses; `code` goes back to the client in an `error` frame. */
export class ProtocolError extends ChatmeshError {
  override readonly name = 'ProtocolError';
  /**
   * The refused frame's `requestId` when it had a well-formed one, so the answer can name it (a client waiting
   * on that request settles instead of timing out).
   */
  requestId?: string;
}

/**
 * Parses and validates one text frame.
 * @throws ProtocolError CM_ERR_PROTOCOL_MALFORMED (not JSON or not an object), CM_ERR_PROTOCOL_UNKNOWN_TYPE,
 *   CM_ERR_PROTOCOL_INVALID_FRAME (fails the frame's schema; the message names the first bad field)
 */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('CM_ERR_PROTOCOL_MALFORMED', 'the frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('CM_ERR_PROTOCOL_MALFORMED', 'a frame is one JSON object');
  }
  const type = (value as { type?: unknown }).type;
  const parsed = clientFrameSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const known = clientFrameSchema.options.some((o) => o.shape.type.value === type);
  if (!known) {
    throw new ProtocolError('CM_ERR_PROTOCOL_UNKNOWN_TYPE', `unknown frame type ${JSON.stringify(type)}`);
  }
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') || '(frame)';
  const error = new ProtocolError(
    'CM_ERR_PROTOCOL_INVALID_FRAME',
    `${String(type)}: ${path}: ${issue?.message ?? 'invalid'}`,
    { context: { type, path } },
  );
  const requestId = (value as { requestId?: unknown }).requestId;
  if (typeof requestId === 'string' && isValidId(requestId)) error.requestId = requestId;
  throw error;
}
