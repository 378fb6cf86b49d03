/**
 * @chatmesh/client/e2e: end-to-end encryption for chatmesh clients on libsignal (`@signalapp/libsignal-client`,
 * AGPL-3.0, an optional peer dependency: only apps that import this entry point need it). Session set-up from
 * the key directory's bundles (PQXDH), per-device encryption with device-list repair, decryption, key and session
 * stores on a small storage interface (memory, files), and encrypted attachments. See docs/e2e.md.
 */
export {
  E2EDevice,
  type DeviceAddress,
  type E2EAttachmentRef,
  type E2EContent,
  type E2EHttpOptions,
  type KeyStatus,
  type WireEnvelope,
} from './e2e-device.js';
export { createFileE2EStorage, createMemoryE2EStorage, type E2EStorage } from './storage.js';
export {
  decryptAttachment,
  encryptAttachment,
  ATTACHMENT_KEY_BYTES,
  type EncryptedAttachment,
} from './attachment-crypto.js';
export {
  StorageIdentityStore,
  StorageKyberPreKeyStore,
  StoragePreKeyStore,
  StorageSessionStore,
  StorageSignedPreKeyStore,
} from './signal-stores.js';
