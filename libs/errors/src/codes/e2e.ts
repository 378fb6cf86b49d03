import { defineCodes } from './types.js';

/** End-to-end encryption: the key directory and the device lists of per-device envelopes. */
export const E2E_CODES = defineCodes({
  CM_ERR_E2E_INVALID_KEYS: {
    message:
      'A key upload is malformed (a key of the wrong length or type, too many prekeys, the first upload without a signed or Kyber last-resort prekey).',
    retriable: false,
    fix: 'The message names the field; see docs/e2e.md for the shape of PUT /v1/keys. Nothing was stored.',
  },
  CM_ERR_E2E_BAD_SIGNATURE: {
    message: 'A signed prekey or Kyber prekey signature does not verify with the uploaded identity key.',
    retriable: false,
    fix: "Sign each prekey's serialized public key with the device's identity private key (XEdDSA, as libsignal's PrivateKey.sign does). Nothing was stored.",
  },
  CM_ERR_E2E_NO_SHARED_CHAT: {
    message:
      "The caller shares no chat with the user whose keys it asked for (or the user doesn't exist: the same answer).",
    retriable: false,
    fix: 'Create the direct chat (or join a group with the user) first, then fetch the bundles.',
  },
  CM_ERR_E2E_NO_KEYS: {
    message: 'None of the devices asked for has uploaded keys.',
    retriable: true,
    fix: 'The recipient device has not set up end-to-end encryption yet; retry later or send without envelopes.',
  },
  CM_ERR_E2E_DEVICE_LIST_MISMATCH: {
    message:
      "A message's per-device envelopes do not match the recipients' current device lists: some devices have none (missingDevices) or envelopes went to devices that are gone or were re-keyed (staleDevices).",
    retriable: true,
    fix: 'Fetch bundles for the missing devices, drop sessions of the stale ones, re-encrypt and resend with the same clientMessageId.',
  },
});
