/**
 * Loss, duplicate and order accounting of deliveries at the recipients' sockets. A "slot" is one
 * (device, chat) that should receive `expected` messages, addressed by the message's ordinal within the
 * chat (0..messagesInChat−1). For each delivery:
 *
 * - a message already seen at that slot is a **duplicate** (and nothing else is checked for it);
 * - otherwise it is received, and **out of order** when its chat `seq` is not above the previous one
 *   the slot got (the chat's order) or its ordinal is not above the previous one from the same sender
 *   (the sender's own order);
 * - a device's inbox positions must rise: an `inboxSeq` not above the device's previous one is an
 *   **inbox regression**.
 *
 * After the drain, every expected message not received is **lost**.
 */

export interface LedgerSummary {
  readonly expected: number;
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly inboxRegressions: number;
  /** Deliveries the plan did not expect (an unknown message, a chat the device is not in). */
  readonly unexpected: number;
  /** A sender's own message delivered back to the sending device (the gateway does not skip it). */
  readonly echoes: number;
}

export type DeliveryOutcome = 'received' | 'duplicate' | 'unexpected';

interface Slot {
  readonly expected: number;
  readonly seen: Uint8Array;
  /** Last ordinal received from each member of the chat (−1: none yet). */
  readonly lastOrdinalBySender: Int32Array;
  lastChatSeq: number;
  received: number;
}

export class DeliveryLedger {
  private readonly slots: Slot[] = [];
  private readonly lastInboxSeq = new Map<number, number>();
  private duplicates = 0;
  private outOfOrder = 0;
  private inboxRegressions = 0;
  private unexpected = 0;
  private echoes = 0;

  /**
   * Adds a slot and returns its number.
   * @param messagesInChat ordinals of the chat are 0..messagesInChat−1
   * @param expected how many of them this slot should receive
   * @param senders members of the chat (a sender's index is given with each delivery)
   */
  addSlot(messagesInChat: number, expected: number, senders: number): number {
    this.slots.push({
      expected,
      seen: new Uint8Array(messagesInChat),
      lastOrdinalBySender: new Int32Array(senders).fill(-1),
      lastChatSeq: Number.NEGATIVE_INFINITY,
      received: 0,
    });
    return this.slots.length - 1;
  }

  /** Records a message delivery at `slot` (−1 or an unknown slot: unexpected). */
  record(slot: number, ordinal: number, senderIndex: number, chatSeq: number): DeliveryOutcome {
    const s = this.slots[slot];
    if (s === undefined || ordinal < 0 || ordinal >= s.seen.length || senderIndex < 0) {
      this.unexpected++;
      return 'unexpected';
    }
    if (s.seen[ordinal] === 1) {
      this.duplicates++;
      return 'duplicate';
    }
    s.seen[ordinal] = 1;
    s.received++;
    let inOrder = chatSeq > s.lastChatSeq;
    if (inOrder) s.lastChatSeq = chatSeq;
    if (senderIndex < s.lastOrdinalBySender.length) {
      if (ordinal <= s.lastOrdinalBySender[senderIndex]!) inOrder = false;
      else s.lastOrdinalBySender[senderIndex] = ordinal;
    }
    if (!inOrder) this.outOfOrder++;
    return 'received';
  }

  /** Records a frame's inbox position at a device (any frame that carries `inboxSeq`). */
  recordInboxSeq(device: number, inboxSeq: number): void {
    const last = this.lastInboxSeq.get(device);
    if (last !== undefined && inboxSeq <= last) this.inboxRegressions++;
    else this.lastInboxSeq.set(device, inboxSeq);
  }

  /** Counts a delivery that matches no slot. */
  recordUnexpected(): void {
    this.unexpected++;
  }

  /** Counts a sender's own message delivered back to the device it was sent from. */
  recordEcho(): void {
    this.echoes++;
  }

  /** Messages received at a slot so far. */
  receivedAt(slot: number): number {
    return this.slots[slot]?.received ?? 0;
  }

  summary(): LedgerSummary {
    let expected = 0;
    let received = 0;
    for (const slot of this.slots) {
      expected += slot.expected;
      received += slot.received;
    }
    return {
      expected,
      received,
      lost: Math.max(0, expected - received),
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      inboxRegressions: this.inboxRegressions,
      unexpected: this.unexpected,
      echoes: this.echoes,
    };
  }
}

/** Sums the summaries of several ledgers (one per worker process). */
export function mergeLedgerSummaries(summaries: readonly LedgerSummary[]): LedgerSummary {
  const sum = (key: keyof LedgerSummary): number => summaries.reduce((total, s) => total + s[key], 0);
  return {
    expected: sum('expected'),
    received: sum('received'),
    lost: sum('lost'),
    duplicates: sum('duplicates'),
    outOfOrder: sum('outOfOrder'),
    inboxRegressions: sum('inboxRegressions'),
    unexpected: sum('unexpected'),
    echoes: sum('echoes'),
  };
}
