import {
  attachmentCodeOf,
  checkAttachmentReference,
  type ObjectStore,
  type ReferenceCheckDeps,
} from '@chatmesh/attachments';
import { isBranch, type ChatCommand } from '@chatmesh/schemas';
import type { AttachmentRefRecord, AttachmentStore, ChatDirectoryStore } from '@chatmesh/store';

import { requestKey, sendKey } from './command-rules.js';
import { CommandRejectedError } from './reject-error.js';

/** What ingest needs to check attachment references: the object store and the attachment metadata. */
export interface AttachmentCheckDeps {
  readonly objects: Pick<ObjectStore, 'head'>;
  readonly metadata: AttachmentStore;
  readonly claimWindowMs: number;
}

/** The attachments a command refers to: a message's references, or a group's new picture. */
function referencesOf(command: ChatCommand): Array<{
  attachmentId: string;
  declared: Parameters<typeof checkAttachmentReference>[3];
  refKey: string;
}> {
  const { origin } = command;
  const c = command.command;
  if (isBranch(c, 'chatmesh.chat.SendMessage')) {
    const send = c['chatmesh.chat.SendMessage'];
    return send.content.attachments.map((a) => ({
      attachmentId: a.attachmentId,
      declared: {
        attachmentId: a.attachmentId,
        mimeType: a.mimeType,
        sizeBytes: a.sizeBytes,
        sha256: a.sha256 === null ? null : Buffer.from(a.sha256).toString('base64'),
      },
      refKey: sendKey(origin.userId, send.clientMessageId),
    }));
  }
  const picture = isBranch(c, 'chatmesh.chat.CreateChat')
    ? c['chatmesh.chat.CreateChat'].pictureAttachmentId
    : isBranch(c, 'chatmesh.chat.UpdateChat')
      ? c['chatmesh.chat.UpdateChat'].pictureAttachmentId
      : null;
  return picture === null
    ? []
    : [{ attachmentId: picture, declared: null, refKey: `picture:${requestKey(origin.userId, origin.requestId)}` }];
}

/**
 * Checks every attachment a command refers to (see checkAttachmentReference) and returns the refs to record before
 * the command is stored. Without `deps` (a processor built with no attachment store) any reference is refused.
 * @throws CommandRejectedError with the CM_ERR_ATTACHMENT_* code of the first bad reference
 */
export async function claimAttachments(
  deps: AttachmentCheckDeps | undefined,
  directory: Pick<ChatDirectoryStore, 'chatsOfUser'>,
  command: ChatCommand,
  nowMs: number,
): Promise<AttachmentRefRecord[]> {
  const references = referencesOf(command);
  if (references.length === 0) return [];
  const { chatId, origin } = command;
  if (deps === undefined) {
    throw new CommandRejectedError('CM_ERR_ATTACHMENT_NOT_FOUND', 'this server keeps no attachments', chatId);
  }
  const check: ReferenceCheckDeps = {
    objects: deps.objects,
    metadata: deps.metadata,
    directory,
    claimWindowMs: deps.claimWindowMs,
  };
  try {
    for (const reference of references) {
      await checkAttachmentReference(check, origin.userId, reference.attachmentId, reference.declared, nowMs);
    }
  } catch (error) {
    const code = attachmentCodeOf(error);
    if (code === undefined) throw error;
    throw new CommandRejectedError(code, (error as Error).message, chatId);
  }
  return references.map((reference) => ({
    attachmentId: reference.attachmentId,
    chatId,
    refKey: reference.refKey,
    byUserId: origin.userId,
    createdAtMs: nowMs,
  }));
}
