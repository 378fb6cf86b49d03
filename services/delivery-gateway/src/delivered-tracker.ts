/**
 * The messages by other users a socket sent and the device has not acked yet, so an `ack` becomes
 * DELIVERED reports (docs/protocol.md "Receipts"): per chat, the highest chat seq the ack covers.
 *
 * Kept compact on purpose (the gateway holds ~100K sockets): three parallel arrays, allocated by the
 * stream only once it sends such a message and dropped again when an ack empties them, so an idle
 * socket holds nothing. Entries are recorded in inboxSeq order (the stream sends in that order).
 */
export class DeliveredTracker {
  /** More unacked entries than this and the oldest are forgotten (a later one of the same chat covers them). */
  static readonly MAX_ENTRIES = 4096;
  private readonly inboxSeqs: number[] = [];
  private readonly chatSeqs: number[] = [];
  private readonly chatIds: string[] = [];

  /** Unacked entries tracked. */
  get size(): number {
    return this.inboxSeqs.length;
  }

  /** A MESSAGE_RECEIVED entry by another user was sent; entries at or below the last recorded one are ignored. */
  record(inboxSeq: number, chatId: string, chatSeq: number): void {
    const last = this.inboxSeqs.length === 0 ? 0 : this.inboxSeqs[this.inboxSeqs.length - 1]!;
    if (inboxSeq <= last) return;
    this.inboxSeqs.push(inboxSeq);
    this.chatSeqs.push(chatSeq);
    this.chatIds.push(chatId);
    if (this.inboxSeqs.length > DeliveredTracker.MAX_ENTRIES) {
      // DELIVERED is a pointer ("up to seq"): forgetting the oldest only loses reports that a later
      // entry of the same chat would make anyway; a chat with no later entry is reported by nothing.
      const drop = this.inboxSeqs.length - DeliveredTracker.MAX_ENTRIES + 256;
      this.inboxSeqs.splice(0, drop);
      this.chatSeqs.splice(0, drop);
      this.chatIds.splice(0, drop);
    }
  }

  /** Removes the entries up to `upToInboxSeq` and returns, per chat, the highest chat seq among them. */
  take(upToInboxSeq: number): Map<string, number> | null {
    let count = 0;
    while (count < this.inboxSeqs.length && this.inboxSeqs[count]! <= upToInboxSeq) count++;
    if (count === 0) return null;
    const byChat = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const chatId = this.chatIds[i]!;
      const seq = this.chatSeqs[i]!;
      if ((byChat.get(chatId) ?? -1) < seq) byChat.set(chatId, seq);
    }
    this.inboxSeqs.splice(0, count);
    this.chatSeqs.splice(0, count);
    this.chatIds.splice(0, count);
    return byChat;
  }
}
