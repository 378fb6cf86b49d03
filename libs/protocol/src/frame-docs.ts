import type { ClientFrameType } from './client-frames.js';
import type { ServerFrameType } from './server-frames.js';

/**
 * One line per client frame, for the WebSocket AsyncAPI document (docs/websocket-asyncapi.json); docs/protocol.md
 * explains them. Keyed by frame type, so a frame added without its line fails `tsc`.
 */
export const CLIENT_FRAME_SUMMARIES: Readonly<Record<ClientFrameType, string>> = Object.freeze({
  send: 'Send a message (text, per-device envelopes, attachment references); answered by ack or reject.',
  createChat: 'Create a direct chat or a group; answered by ack or reject.',
  updateChat: 'Rename a group or change its picture; answered by ack or reject.',
  addMembers: 'Add members to a group (admins); answered by ack or reject.',
  removeMembers: 'Remove members from a group (admins); answered by ack or reject.',
  leaveChat: 'Leave a chat; answered by ack or reject.',
  ack: "Move this device's cursor: everything up to upToInboxSeq (and each broadcast chat's seq) is stored on it.",
  read: 'The user read a chat up to a chat seq (read receipts).',
  typing: 'Typing started or stopped in a chat.',
  sync: 'Replay the inbox after a position (and broadcast chats after theirs), then live; syncDone marks the switch.',
  presenceSubscribe: "Follow these users' online / last-seen state.",
  ping: 'Application-level ping; answered by pong.',
});

/** One line per server frame, as {@link CLIENT_FRAME_SUMMARIES}. */
export const SERVER_FRAME_SUMMARIES: Readonly<Record<ServerFrameType, string>> = Object.freeze({
  hello: "First frame on every connection: the protocol version, who you are, the device's stored cursor.",
  messageReceived: 'A message of a chat (only the envelopes addressed to this device).',
  newAttachment: 'One attachment of a received message; follows its messageReceived.',
  chatCreated: 'A chat was created with you in it.',
  chatUpdated: "A group's name or picture changed.",
  membersAdded: 'Members joined a chat.',
  membersRemoved: 'Members were removed from a chat or left it.',
  ack: 'A command was accepted: stored once with this chat seq (a retry gets the same answer).',
  reject: 'A command was refused with a CM_ERR_* code; nothing was stored. Retry only when retriable.',
  receipt: 'A message state change for the sender: sent, delivered, read or failed, up to a seq.',
  readPointer: 'The user read a chat up to a seq on one of their devices: clear its unread state here too.',
  typing: 'Someone is typing in a chat (or stopped).',
  presence: "A followed user's online state and last seen.",
  identityKeyChanged: "A contact's (or your own other) device has a new identity key: the safety number changed.",
  syncDone: 'The replay after the cursor is complete; frames from here on are live.',
  syncGap: "Inbox entries that expired before this device read them: catch up from the chats' history.",
  error: 'A frame was refused (malformed, unknown type, too large, rate limited...); nothing changed.',
  pong: 'The answer to ping.',
  reconnect: 'The gateway is draining: reconnect (to another instance) after retryAfterMs.',
});
