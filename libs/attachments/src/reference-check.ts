import type { AttachmentRefRecord, AttachmentStore, ChatDirectoryStore } from '@chatmesh/store';

import { AttachmentError } from './attachment-error.js';
import type { ObjectStore } from './object-store.js';

/** A reference as a message carries it (sha256 as base64; null when the sender did not repeat it). */
export interface DeclaredAttachment {
  readonly attachmentId: string;
  readonly mimeType: string;
  readonly sizeBytes: number;
  readonly sha256: string | null;
}

/** What {@link checkAttachmentReference} reads. */
export interface ReferenceCheckDeps {
  readonly objects: Pick<ObjectStore, 'head'>;
  readonly metadata: Pick<AttachmentStore, 'get' | 'refs'>;
  readonly directory: Pick<ChatDirectoryStore, 'chatsOfUser'>;
  /** How long after its reservation an upload may be referenced for the first time. */
  readonly claimWindowMs: number;
}

/**
 * Ingest's check of one reference before the message is stored: the attachment exists; it is the sender's own upload,
 * or a forward (another message that a chat of the sender's carries already refers to it); its bytes are in the
 * store with the size and SHA-256 declared at the upload request (the store verified the digest on the PUT); the
 * message declares the same size, type and digest; a first use comes within the claim window (afterwards the sweeper
 * may be removing it). `declared` null is a group picture (an image; nothing else declared).
 * @returns the refs it read (so the caller can tell a first use)
 * @throws AttachmentError NOT_FOUND, NOT_OWNER, NOT_UPLOADED, MISMATCH, EXPIRED
 */
export async function checkAttachmentReference(
  deps: ReferenceCheckDeps,
  senderUserId: string,
  attachmentId: string,
  declared: DeclaredAttachment | null,
  nowMs: number,
): Promise<AttachmentRefRecord[]> {
  const [record, refs] = await Promise.all([deps.metadata.get(attachmentId), deps.metadata.refs(attachmentId)]);
  if (record === null) throw new AttachmentError('CM_ERR_ATTACHMENT_NOT_FOUND', `no attachment ${attachmentId}`);
  if (record.ownerUserId !== senderUserId) {
    const chats = new Set((await deps.directory.chatsOfUser(senderUserId)).map((chat) => chat.chatId));
    if (!refs.some((ref) => chats.has(ref.chatId))) {
      throw new AttachmentError(
        'CM_ERR_ATTACHMENT_NOT_OWNER',
        `attachment ${attachmentId} is another user's upload and no chat of yours carries it`,
      );
    }
  } else if (refs.length === 0 && nowMs - record.createdAtMs > deps.claimWindowMs) {
    throw new AttachmentError('CM_ERR_ATTACHMENT_EXPIRED', `attachment ${attachmentId} was never sent and has expired`);
  }
  const mismatch = (what: string): AttachmentError =>
    new AttachmentError('CM_ERR_ATTACHMENT_MISMATCH', `attachment ${attachmentId}: ${what}`);
  if (declared === null) {
    if (!record.contentType.startsWith('image/'))
      throw mismatch(`a group picture must be an image, not ${record.contentType}`);
  } else {
    if (declared.sizeBytes !== record.sizeBytes)
      throw mismatch(`declared ${declared.sizeBytes} bytes, uploaded ${record.sizeBytes}`);
    if (declared.mimeType.toLowerCase() !== record.contentType)
      throw mismatch(`declared type ${declared.mimeType}, uploaded ${record.contentType}`);
    if (declared.sha256 !== null && declared.sha256 !== record.sha256)
      throw mismatch('declared SHA-256 differs from the upload');
  }
  const head = await deps.objects.head(record.objectKey);
  if (head === null) {
    throw new AttachmentError('CM_ERR_ATTACHMENT_NOT_UPLOADED', `attachment ${attachmentId} has not been uploaded`);
  }
  if (head.sizeBytes !== record.sizeBytes)
    throw mismatch(`stored ${head.sizeBytes} bytes, ${record.sizeBytes} declared`);
  // A single PUT was signed with the digest, so the store verified and kept it; a multipart object has none of its own.
  if (record.multipartUploadId === null && head.sha256 !== record.sha256) throw mismatch('the stored SHA-256 differs');
  return refs;
}
