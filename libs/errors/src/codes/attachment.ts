import { defineCodes } from './types.js';

/** Attachments by reference: upload requests, download URLs and the references messages carry. */
export const ATTACHMENT_CODES = defineCodes({
  CM_ERR_ATTACHMENT_TOO_LARGE: {
    message: 'The declared size is above the limit of its kind (image, video, audio, file), or zero.',
    retriable: false,
    fix: 'Send a smaller file; the limits are CHATMESH_ATTACHMENT_MAX_*_BYTES (GET /v1/attachments/limits lists them).',
  },
  CM_ERR_ATTACHMENT_TYPE_NOT_ALLOWED: {
    message: 'The declared content type is not on the allowed list.',
    retriable: false,
    fix: 'Use one of the types in CHATMESH_ATTACHMENT_ALLOWED_TYPES (an entry may end in /* for a whole family), or send the file as application/octet-stream if that is allowed.',
  },
  CM_ERR_ATTACHMENT_RATE_LIMITED: {
    message: 'The user asked for uploads faster than allowed.',
    retriable: true,
    fix: 'Retry after the time given in retryAfterMs; the rate is CHATMESH_ATTACHMENT_UPLOADS_PER_MINUTE.',
  },
  CM_ERR_ATTACHMENT_INVALID_REQUEST: {
    message: 'The upload request is malformed (checksum not a base64 SHA-256, bad part numbers, bad file name).',
    retriable: false,
    fix: 'The message names the bad field; see docs/attachments.md for the request shapes.',
  },
  CM_ERR_ATTACHMENT_NOT_FOUND: {
    message: 'No such attachment, or the caller may not see it (the same answer on purpose).',
    retriable: false,
    fix: 'Check the attachment id; a download URL is given to members of a chat whose message (or picture) refers to it, and to its uploader.',
  },
  CM_ERR_ATTACHMENT_NOT_UPLOADED: {
    message:
      'The attachment was reserved but its bytes are not in the store (yet), or a multipart upload was not completed.',
    retriable: true,
    fix: 'Finish the upload (PUT to the presigned URL, or complete the multipart upload), then send the message again with the same client message id.',
  },
  CM_ERR_ATTACHMENT_MISMATCH: {
    message: 'The stored object does not match what the reference declares (size, SHA-256 or content type).',
    retriable: false,
    fix: 'Reference the attachment with the size, checksum and type given when the upload was requested; upload again if the bytes changed.',
  },
  CM_ERR_ATTACHMENT_NOT_OWNER: {
    message: "The message refers to another user's upload that no message the sender can see carries.",
    retriable: false,
    fix: 'Upload the file yourself; to forward an attachment, be a member of a chat where it was sent.',
  },
  CM_ERR_ATTACHMENT_EXPIRED: {
    message: 'The upload is too old to be referenced for the first time (it is about to be removed as an orphan).',
    retriable: false,
    fix: 'Upload the file again; an upload must be sent within CHATMESH_ATTACHMENT_CLAIM_WINDOW_MS.',
  },
  CM_ERR_ATTACHMENT_URL_INVALID: {
    message: 'A signed blob URL of embedded mode is expired, tampered with, or used for another operation.',
    retriable: false,
    fix: 'Ask the HTTP API for a new URL (they live CHATMESH_ATTACHMENT_URL_TTL_SECONDS); do not edit them.',
  },
  CM_ERR_ATTACHMENT_STORE_UNAVAILABLE: {
    message: 'The object store (S3 API) failed or is unreachable.',
    retriable: true,
    fix: 'Check CHATMESH_S3_ENDPOINT, the credentials and the bucket; `npm run infra -- status` shows the local versitygw.',
  },
});
