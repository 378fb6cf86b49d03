import { defineCodes } from './types.js';

/** Codes of the receipts service: delivered / read pointers and message states (ticks). */
export const RECEIPTS_CODES = defineCodes({
  CM_ERR_RECEIPTS_NOT_A_MEMBER: {
    message: 'A delivered or read report named a chat the reporting user is not a member of (or that does not exist).',
    retriable: false,
    fix: 'Report only chats the user belongs to; the same code answers for unknown chats so nobody learns which chats exist.',
  },
  CM_ERR_RECEIPTS_BEYOND_HEAD: {
    message: "A delivered or read report pointed past the chat's latest sequence number.",
    retriable: false,
    fix: 'Report up to the highest `seq` the device actually received in that chat.',
  },
  CM_ERR_RECEIPTS_UNDELIVERED: {
    message: 'A message stayed undelivered to a recipient past the failure limit and became FAILED for that recipient.',
    retriable: false,
    fix: 'Nothing to fix in the server: the recipient has not connected any device since. The sender was told (FAILED); the DeliveryFailed notice on receipts.failed keeps the message event for inspection (receipts.dlq holds such notices only from before that topic existed).',
  },
});
