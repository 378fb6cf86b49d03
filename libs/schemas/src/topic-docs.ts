import type { TOPICS } from './topics.js';

/**
 * One line per topic of the table, for the AsyncAPI document (docs/asyncapi.json) and whoever lists the topics.
 * Keyed like {@link TOPICS}, so a topic added without a line fails `tsc`.
 */
export const TOPIC_SUMMARIES: Readonly<Record<keyof typeof TOPICS | 'gatewayDeliveries', string>> = Object.freeze({
  chatCommands: 'Client commands for ingest, keyed by chat: one writer per chat.',
  chatEvents: 'Facts ingest stored (messages, chat lifecycle), in chat sequence order.',
  chatBroadcast:
    'Events of broadcast chats (big groups): fan-out writes each once and every gateway reads all of it. A day of retention.',
  userInbox: "One entry per recipient user; the per-user sequencer is the single writer of a user's inbox.",
  receipts: "Delivered / read reports, keyed by chat so receipts owns a chat's pointers.",
  deliveryFailures:
    'FAILED notices: one per (message, recipient) still undelivered at its deadline, for people and tools. Kept 30 days.',
  presenceEvents: 'Device connection changes, device removals and privacy changes, for the presence registry.',
  ephemeral: 'Typing indicators: never stored, an hour of retention.',
  pushRequests: 'Wake-ups for offline devices.',
  pushRegistrations: 'Push channel registrations and removals, keyed by user: the push service applies them.',
  gatewayDeliveries:
    "One gateway's delivery topic: frames for the devices connected to it (messages, answers, receipts, presence).",
});

/** What a topic's key is, by key kind. */
export const TOPIC_KEY_SUMMARIES = Object.freeze({
  chatId: "The chat id (a chat's records stay in one partition, in order).",
  userId: "The user id (a user's records stay in one partition, in order).",
} as const);
