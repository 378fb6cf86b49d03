/** A new random id (a UUID v4), valid as a chat, request or client message id. */
export function newId(): string {
  return globalThis.crypto.randomUUID();
}
