import type { ChatEvent, ChatEventKind } from '@chatmesh/schemas';
import type { ChatLogRow } from './store-views.js';

/** One inbox entry a user must hold for a chat event. */
export interface ExpectedRef {
  readonly chatSeq: number;
  readonly kind: ChatEventKind;
  readonly clientMessageId: string | null;
}

/** The kind of inbox entry a chat event becomes. */
export function eventKind(event: ChatEvent): ChatEventKind {
  const body = event.event;
  if ('chatmesh.chat.MessageReceived' in body) return 'MESSAGE_RECEIVED';
  if ('chatmesh.chat.ChatCreated' in body) return 'CHAT_CREATED';
  if ('chatmesh.chat.ChatUpdated' in body) return 'CHAT_UPDATED';
  if ('chatmesh.chat.MembersAdded' in body) return 'MEMBERS_ADDED';
  return 'MEMBERS_REMOVED';
}

/**
 * What each user's inbox must hold for one chat, derived from the chat's stored log alone (not from the
 * membership tables the services keep), by the rule of the core message path:
 * - an event at chat sequence `s` goes to every member at `s`: users added at or before `s` and not
 *   removed at or before `s`;
 * - a removal also goes to the users it removes (they learn of it), and nothing after it does.
 *
 * So for a user who joined at `j` and was removed at `r` (or never), the chat's entries in their inbox are
 * exactly the sequence numbers `j, j+1, ..., r` (or the chat's head), each once, in that order: the
 * "order" guarantee, with lifecycle events counted, is that this list is gap-free and strictly increasing by 1.
 *
 * A broadcast chat (a big group, `broadcastSince` given) keeps this rule only before `broadcastSince`: from
 * there on its events go once to `chat.broadcast` instead, and an inbox gets only its own user's additions
 * and removals (how an added user learns of the chat, and a removed one of the removal).
 *
 * @returns expected entries by user id, ascending by chat sequence
 */
export function expectedInboxes(
  log: readonly ChatLogRow[],
  broadcastSince: number | null = null,
): Map<string, ExpectedRef[]> {
  const members = new Set<string>();
  const expected = new Map<string, ExpectedRef[]>();
  const give = (userId: string, ref: ExpectedRef): void => {
    const list = expected.get(userId) ?? [];
    list.push(ref);
    expected.set(userId, list);
  };
  for (const row of log) {
    const body = row.event.event;
    let recipients: string[];
    if ('chatmesh.chat.ChatCreated' in body) {
      for (const member of body['chatmesh.chat.ChatCreated'].members) members.add(member.userId);
      recipients = [...members];
    } else if ('chatmesh.chat.MembersAdded' in body) {
      for (const member of body['chatmesh.chat.MembersAdded'].members) members.add(member.userId);
      recipients = [...members];
    } else if ('chatmesh.chat.MembersRemoved' in body) {
      recipients = [...new Set([...members, ...body['chatmesh.chat.MembersRemoved'].userIds])];
      for (const userId of body['chatmesh.chat.MembersRemoved'].userIds) members.delete(userId);
    } else {
      recipients = [...members];
    }
    if (broadcastSince !== null && row.seq >= broadcastSince) {
      recipients =
        'chatmesh.chat.MembersAdded' in body
          ? body['chatmesh.chat.MembersAdded'].members.map((member) => member.userId)
          : 'chatmesh.chat.MembersRemoved' in body
            ? [...body['chatmesh.chat.MembersRemoved'].userIds]
            : [];
    }
    const clientMessageId =
      'chatmesh.chat.MessageReceived' in body ? body['chatmesh.chat.MessageReceived'].clientMessageId : null;
    for (const userId of recipients) give(userId, { chatSeq: row.seq, kind: eventKind(row.event), clientMessageId });
  }
  return expected;
}
