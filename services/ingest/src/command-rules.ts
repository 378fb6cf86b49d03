import { CHAT_LIMITS, directChatId, isDirectChatId, isValidId } from '@chatmesh/protocol';
import {
  isBranch,
  unhandledBranch,
  type AddMembers,
  type ChatCommand,
  type ChatEvent,
  type CreateChat,
  type LeaveChat,
  type MessageContent,
  type RemoveMembers,
  type SendMessage,
  type UpdateChat,
} from '@chatmesh/schemas';
import type { ChatState } from './chat-state.js';
import { reject } from './reject-error.js';

/** The event a valid command produces, before the chat's sequence number is known. */
export type ChatEventBody = ChatEvent['event'];

/** What ingest must do for a command that passed the rules. */
export interface CommandPlan {
  /** Makes a retried command find its first result. Scoped by sender so nobody can claim another's id. */
  readonly idempotencyKey: string;
  /** Stored kind of the log row. */
  readonly kind: 'message' | 'chat_created' | 'chat_updated' | 'members_added' | 'members_removed';
  readonly event: ChatEventBody;
  /** Set for sends (the ack carries it back). */
  readonly clientMessageId: string | null;
}

/** The idempotency key of a send. */
export function sendKey(userId: string, clientMessageId: string): string {
  return `msg:${userId}:${clientMessageId}`;
}

/** The idempotency key of a membership or metadata command: one result per request of a sender. */
export function requestKey(userId: string, requestId: string): string {
  return `req:${userId}:${requestId}`;
}

/** The single idempotency key of a chat's creation: a chat is created at most once, at sequence 1. */
export const CREATE_KEY = 'create';

/**
 * Applies the chat's rules to a command, given the chat's current state (null when it does not exist).
 * Pure: it reads nothing and writes nothing.
 * @throws CommandRejectedError with a CM_ERR_CHAT_* code; nothing is stored for a rejected command.
 */
export function planCommand(command: ChatCommand, state: ChatState | null): CommandPlan {
  const { chatId, origin } = command;
  if (!isValidId(chatId)) reject('CM_ERR_CHAT_INVALID_COMMAND', 'chatId is not a valid id', chatId);
  const c = command.command;
  if (isBranch(c, 'chatmesh.chat.CreateChat'))
    return planCreate(chatId, origin.userId, c['chatmesh.chat.CreateChat'], state);

  // Unknown chat and non-member get the same answer: nobody learns a chat exists that they are not in.
  const role = state?.members.get(origin.userId);
  if (!state || role === undefined) reject('CM_ERR_CHAT_NOT_FOUND', 'no such chat, or you are not a member', chatId);
  const key = requestKey(origin.userId, origin.requestId);

  if (isBranch(c, 'chatmesh.chat.SendMessage'))
    return planSend(chatId, origin.userId, c['chatmesh.chat.SendMessage'], state);
  if (state.chat.kind !== 'group')
    reject('CM_ERR_CHAT_NOT_GROUP', 'direct chats have no name, admins or members to change', chatId);
  if (isBranch(c, 'chatmesh.chat.LeaveChat'))
    return planLeave(chatId, origin.userId, c['chatmesh.chat.LeaveChat'], key);
  if (role !== 'admin') reject('CM_ERR_CHAT_FORBIDDEN', 'only admins manage a group', chatId);
  if (isBranch(c, 'chatmesh.chat.UpdateChat')) return planUpdate(chatId, c['chatmesh.chat.UpdateChat'], key);
  if (isBranch(c, 'chatmesh.chat.AddMembers')) return planAdd(chatId, c['chatmesh.chat.AddMembers'], state, key);
  if (isBranch(c, 'chatmesh.chat.RemoveMembers'))
    return planRemove(chatId, origin.userId, c['chatmesh.chat.RemoveMembers'], state, key);
  return unhandledBranch(c);
}

function planSend(chatId: string, userId: string, send: SendMessage, state: ChatState): CommandPlan {
  if (!isValidId(send.clientMessageId))
    reject('CM_ERR_CHAT_INVALID_COMMAND', 'clientMessageId is not a valid id', chatId);
  checkContent(chatId, send.content, state);
  return {
    idempotencyKey: sendKey(userId, send.clientMessageId),
    kind: 'message',
    clientMessageId: send.clientMessageId,
    event: { 'chatmesh.chat.MessageReceived': { clientMessageId: send.clientMessageId, content: send.content } },
  };
}

function checkContent(chatId: string, content: MessageContent, state: ChatState): void {
  const bodyBytes = content.body === null ? 0 : Buffer.byteLength(content.body, 'utf8');
  if (bodyBytes === 0 && content.envelopes.length === 0 && content.attachments.length === 0) {
    reject('CM_ERR_CHAT_INVALID_COMMAND', 'a message needs a body, ciphertext envelopes or attachments', chatId);
  }
  if (bodyBytes > CHAT_LIMITS.maxBodyBytes) {
    reject(
      'CM_ERR_CHAT_PAYLOAD_TOO_LARGE',
      `body is ${bodyBytes} bytes, the limit is ${CHAT_LIMITS.maxBodyBytes}`,
      chatId,
    );
  }
  if (content.attachments.length > CHAT_LIMITS.maxAttachments) {
    reject('CM_ERR_CHAT_PAYLOAD_TOO_LARGE', `at most ${CHAT_LIMITS.maxAttachments} attachments`, chatId);
  }
  if (content.envelopes.length > CHAT_LIMITS.maxEnvelopes) {
    reject('CM_ERR_CHAT_PAYLOAD_TOO_LARGE', `at most ${CHAT_LIMITS.maxEnvelopes} envelopes`, chatId);
  }
  let ciphertextBytes = 0;
  for (const envelope of content.envelopes) {
    ciphertextBytes += envelope.ciphertext.length;
    // Ciphertext for a non-member's device would leak the chat to them.
    if (!state.members.has(envelope.recipientUserId)) {
      reject('CM_ERR_CHAT_INVALID_COMMAND', 'an envelope is addressed to a user who is not a member', chatId);
    }
  }
  if (ciphertextBytes > CHAT_LIMITS.maxCiphertextBytes) {
    reject(
      'CM_ERR_CHAT_PAYLOAD_TOO_LARGE',
      `ciphertext is ${ciphertextBytes} bytes, the limit is ${CHAT_LIMITS.maxCiphertextBytes}`,
      chatId,
    );
  }
  for (const attachment of content.attachments) {
    if (!isValidId(attachment.attachmentId) || attachment.sizeBytes < 0) {
      reject('CM_ERR_CHAT_INVALID_COMMAND', 'an attachment reference is malformed', chatId);
    }
  }
}

function planCreate(chatId: string, creator: string, create: CreateChat, state: ChatState | null): CommandPlan {
  const others = [...new Set(create.memberUserIds.filter((u) => u !== creator))];
  for (const userId of others) {
    if (!isValidId(userId)) reject('CM_ERR_CHAT_INVALID_COMMAND', 'a member id is not a valid id', chatId);
  }
  if (create.kind === 'DIRECT') {
    const [other] = others;
    if (others.length !== 1 || other === undefined) {
      reject('CM_ERR_CHAT_INVALID_COMMAND', 'a direct chat has exactly one other member', chatId);
    }
    if (chatId !== directChatId(creator, other)) {
      reject('CM_ERR_CHAT_INVALID_COMMAND', 'a direct chat id must be directChatId(creator, other)', chatId);
    }
    if (create.name !== null || create.pictureAttachmentId !== null) {
      reject('CM_ERR_CHAT_INVALID_COMMAND', 'a direct chat has no name or picture', chatId);
    }
  } else {
    if (isDirectChatId(chatId))
      reject('CM_ERR_CHAT_INVALID_COMMAND', 'group ids may not use the direct prefix', chatId);
    if (others.length + 1 > CHAT_LIMITS.maxGroupMembers) {
      reject('CM_ERR_CHAT_TOO_MANY_MEMBERS', `a group has at most ${CHAT_LIMITS.maxGroupMembers} members`, chatId);
    }
    checkName(chatId, create.name);
  }
  // A group that exists is refused by the processor unless this is the same request retried (it needs
  // the stored creation to tell); a direct chat that exists is simply acknowledged.
  void state;
  return {
    idempotencyKey: CREATE_KEY,
    kind: 'chat_created',
    clientMessageId: null,
    event: {
      'chatmesh.chat.ChatCreated': {
        kind: create.kind,
        // The creator administers a group; both members of a direct chat are plain members.
        members: [
          { userId: creator, role: create.kind === 'GROUP' ? 'ADMIN' : 'MEMBER' },
          ...others.map((userId) => ({ userId, role: 'MEMBER' as const })),
        ],
        name: create.kind === 'GROUP' ? create.name : null,
        pictureAttachmentId: create.pictureAttachmentId,
      },
    },
  };
}

function checkName(chatId: string, name: string | null): void {
  if (name !== null && (name.trim().length === 0 || name.length > CHAT_LIMITS.maxChatNameLength)) {
    reject('CM_ERR_CHAT_INVALID_COMMAND', `a name has 1-${CHAT_LIMITS.maxChatNameLength} characters`, chatId);
  }
}

function planUpdate(chatId: string, update: UpdateChat, key: string): CommandPlan {
  checkName(chatId, update.name);
  if (update.name === null && update.pictureAttachmentId === null && !update.clearPicture) {
    reject('CM_ERR_CHAT_INVALID_COMMAND', 'an update must change the name or the picture', chatId);
  }
  if (update.pictureAttachmentId !== null && update.clearPicture) {
    reject('CM_ERR_CHAT_INVALID_COMMAND', 'set a picture or clear it, not both', chatId);
  }
  return {
    idempotencyKey: key,
    kind: 'chat_updated',
    clientMessageId: null,
    event: {
      'chatmesh.chat.ChatUpdated': {
        name: update.name,
        pictureAttachmentId: update.pictureAttachmentId,
        pictureCleared: update.clearPicture,
      },
    },
  };
}

function planAdd(chatId: string, add: AddMembers, state: ChatState, key: string): CommandPlan {
  const added = [...new Set(add.userIds)].filter((u) => !state.members.has(u));
  for (const userId of added) {
    if (!isValidId(userId)) reject('CM_ERR_CHAT_INVALID_COMMAND', 'a member id is not a valid id', chatId);
  }
  if (added.length === 0) reject('CM_ERR_CHAT_INVALID_COMMAND', 'every user given is already a member', chatId);
  if (state.members.size + added.length > CHAT_LIMITS.maxGroupMembers) {
    reject(
      'CM_ERR_CHAT_TOO_MANY_MEMBERS',
      `the group has ${state.members.size} members; adding ${added.length} exceeds ${CHAT_LIMITS.maxGroupMembers}`,
      chatId,
    );
  }
  return {
    idempotencyKey: key,
    kind: 'members_added',
    clientMessageId: null,
    event: { 'chatmesh.chat.MembersAdded': { members: added.map((userId) => ({ userId, role: 'MEMBER' as const })) } },
  };
}

function planRemove(chatId: string, self: string, remove: RemoveMembers, state: ChatState, key: string): CommandPlan {
  const removed = [...new Set(remove.userIds)];
  if (removed.length === 0) reject('CM_ERR_CHAT_INVALID_COMMAND', 'name at least one member to remove', chatId);
  for (const userId of removed) {
    if (userId === self) reject('CM_ERR_CHAT_INVALID_COMMAND', 'leave the chat instead of removing yourself', chatId);
    if (!state.members.has(userId)) reject('CM_ERR_CHAT_INVALID_COMMAND', 'a user given is not a member', chatId);
  }
  return {
    idempotencyKey: key,
    kind: 'members_removed',
    clientMessageId: null,
    event: { 'chatmesh.chat.MembersRemoved': { userIds: removed, reason: 'REMOVED' } },
  };
}

function planLeave(chatId: string, self: string, _leave: LeaveChat, key: string): CommandPlan {
  void chatId;
  return {
    idempotencyKey: key,
    kind: 'members_removed',
    clientMessageId: null,
    event: { 'chatmesh.chat.MembersRemoved': { userIds: [self], reason: 'LEFT' } },
  };
}
