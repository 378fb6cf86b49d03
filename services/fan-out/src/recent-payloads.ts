/**
 * The chat-log payloads of recent messages, as fan-out's expansion saw them on `chat.events`, so that the inbox
 * sequencer can render a delivery without reading the row back from the chat log (two reads per 1:1 message:
 * the recipient's entry and the sender's own). A chat event's bytes on `chat.events` are the chat-log row's
 * bytes (ingest emits the stored payload), and a stored message never changes, so a hit is exactly what the read
 * would return. Only a cache: a miss (another fan-out process expanded the chat, or the entry is old) reads the
 * store. Bounded in bytes, least recently used dropped first.
 */
export class RecentPayloads {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Buffer>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  put(chatId: string, seq: number, payload: Buffer): void {
    if (payload.length > this.#maxBytes) return;
    const key = keyOf(chatId, seq);
    this.#forget(key);
    this.#entries.set(key, payload);
    this.#bytes += payload.length;
    for (const [oldest, bytes] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= bytes.length;
    }
  }

  get(chatId: string, seq: number): Buffer | undefined {
    const key = keyOf(chatId, seq);
    const payload = this.#entries.get(key);
    if (payload !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, payload);
    }
    return payload;
  }

  /** Bytes held, for tests and health details. */
  get bytes(): number {
    return this.#bytes;
  }

  #forget(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= old.length;
  }
}

function keyOf(chatId: string, seq: number): string {
  return `${chatId}\u0000${seq}`;
}
