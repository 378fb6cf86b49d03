import { defineCodes } from './types.js';

/** Reasons ingest rejects a chat command with; they reach the sending device as `reject.code`. */
export const CHAT_CODES = defineCodes({
  CM_ERR_CHAT_NOT_FOUND: {
    message: 'No such chat, or the sender is not a member of it.',
    retriable: false,
    fix: 'Check the chat id and that the user belongs to the chat. Both cases give the same answer on purpose: nobody learns that a chat they are not in exists.',
  },
  CM_ERR_CHAT_FORBIDDEN: {
    message: 'The sender is a member but may not do this (only admins manage a group).',
    retriable: false,
    fix: 'Ask an admin of the group to do it.',
  },
  CM_ERR_CHAT_ALREADY_EXISTS: {
    message: 'A chat with this id already exists.',
    retriable: false,
    fix: 'Create the group with a new id (a UUID); a direct chat needs no second creation, just send to it.',
  },
  CM_ERR_CHAT_TOO_MANY_MEMBERS: {
    message: 'The group would exceed its member limit (1,024).',
    retriable: false,
    fix: 'Remove members first, or split the group.',
  },
  CM_ERR_CHAT_INVALID_COMMAND: {
    message:
      'The command is malformed or contradicts the chat (bad ids, empty message, wrong direct chat id, users already or not members).',
    retriable: false,
    fix: 'Read the message for the field at fault and correct the command; see docs/protocol.md.',
  },
  CM_ERR_CHAT_PAYLOAD_TOO_LARGE: {
    message: 'The message body, ciphertext or attachment list exceeds its limit.',
    retriable: false,
    fix: 'Send large content as an attachment by reference; limits are in @chatmesh/protocol CHAT_LIMITS.',
  },
  CM_ERR_CHAT_RATE_LIMITED: {
    message: 'The sender is sending faster than the chat allows.',
    retriable: true,
    fix: 'Retry later with the same client message id; the SDK outbox does this with backoff.',
  },
  CM_ERR_CHAT_OUT_OF_ORDER: {
    message:
      "The message names an earlier message of the sender (afterClientMessageId) that the chat does not hold yet; storing this one first would change the sender's order.",
    retriable: true,
    fix: 'Send the earlier message first (or again), then this one with the same client message id; the SDK outbox does this by itself. If the earlier one was refused for good, send this one naming the message before it, or none.',
  },
  CM_ERR_CHAT_COMMAND_FAILED: {
    message:
      'The server could not process the command (its retries ran out, e.g. during a long store outage); it was not applied.',
    retriable: true,
    fix: 'Retry with the same ids (the SDK outbox does this by itself): a retry is idempotent. Operators find the command in the `chat.commands.dlq` topic (`npm run dlq -- list`) with the failure that parked it.',
  },
  CM_ERR_CHAT_NOT_GROUP: {
    message: 'The operation applies to groups only (a direct chat has no name, admins or members to change).',
    retriable: false,
    fix: 'Send the command to a group chat.',
  },
});
