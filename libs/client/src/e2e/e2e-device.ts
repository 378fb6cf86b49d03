import { randomInt, randomUUID } from 'node:crypto';
import {
  CiphertextMessageType,
  IdentityKeyPair,
  KEMKeyPair,
  KEMPublicKey,
  KyberPreKeyRecord,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  SignalMessage,
  SignedPreKeyRecord,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';

import type { ChatClient, CommandAck, MessageContent } from '../chat-client-types.js';
import { ClientError } from '../errors.js';
import {
  StorageIdentityStore,
  StorageKyberPreKeyStore,
  StoragePreKeyStore,
  StorageSessionStore,
  StorageSignedPreKeyStore,
} from './signal-stores.js';
import type { E2EStorage } from './storage.js';

/** A device of a user. */
export interface DeviceAddress {
  readonly userId: string;
  readonly deviceId: string;
}

/** A per-device envelope as the `send` frame carries it. */
export interface WireEnvelope {
  readonly userId: string;
  readonly deviceId: string;
  readonly ciphertext: string;
  readonly envelopeType: number;
}

/** A reference to an encrypted attachment, inside the encrypted message: the key never reaches the server. */
export interface E2EAttachmentRef {
  readonly attachmentId: string;
  /** Base64 of the 64-byte attachment key. */
  readonly key: string;
  /** Base64 SHA-256 of the uploaded ciphertext. */
  readonly digest: string;
  readonly sizeBytes: number;
  readonly contentType: string;
}

/** What an encrypted message says (JSON inside the ciphertext). */
export interface E2EContent {
  readonly body?: string;
  readonly attachments?: readonly E2EAttachmentRef[];
}

/** How the device reaches the key API (the gateway's HTTP port). */
export interface E2EHttpOptions {
  /** `http(s)://host:port` of the gateway. */
  readonly baseUrl: string;
  /** A bearer token of this device. */
  readonly token: () => Promise<string>;
  readonly fetch?: typeof fetch;
}

/** `GET /v1/keys`. */
export interface KeyStatus {
  readonly registered: boolean;
  readonly preKeys: number;
  readonly kyberPreKeys: number;
  readonly refillBelow: number;
  readonly refill: boolean;
}

interface WireSigned {
  keyId: number;
  publicKey: string;
  signature: string;
}
interface WireBundle {
  deviceId: string;
  registrationId: number;
  identityKey: string;
  signedPreKey: WireSigned;
  preKey: { keyId: number; publicKey: string } | null;
  kyberPreKey: WireSigned;
}

/** The device list refusal's lists (CM_ERR_E2E_DEVICE_LIST_MISMATCH). */
interface UserDevices {
  userId: string;
  deviceIds: string[];
}

const KYBER_LAST_RESORT_ID = 0xffffff;
const SIGNED_PREKEY_ID = 1;
/** Sends refused for device lists this many times in a row give up (each round fixes what the server listed). */
const MAX_DEVICE_LIST_ROUNDS = 3;
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const bytes = (value: string): Uint8Array<ArrayBuffer> => Uint8Array.from(Buffer.from(value, 'base64'));
const encoder = new TextEncoder();

/** The libsignal address of a chatmesh device: one "name" per (user, device), device number 1. */
function addressOf(device: DeviceAddress): ProtocolAddress {
  return ProtocolAddress.new(`${encodeURIComponent(device.userId)}/${encodeURIComponent(device.deviceId)}`, 1);
}

/**
 * One device's end-to-end encryption on libsignal (PQXDH session set-up, Double Ratchet per device): its keys, its
 * sessions with other devices, the key API calls and the encrypted send with device-list repair. Every message is
 * encrypted once per recipient device (the sender's other devices included), as in Signal without sender keys.
 */
export class E2EDevice {
  private readonly sessions: StorageSessionStore;
  private readonly identities: StorageIdentityStore;
  private readonly preKeys: StoragePreKeyStore;
  private readonly signedPreKeys: StorageSignedPreKeyStore;
  private readonly kyberPreKeys: StorageKyberPreKeyStore;
  private readonly self: ProtocolAddress;

  private constructor(
    readonly userId: string,
    readonly deviceId: string,
    private readonly storage: E2EStorage,
    private readonly http: E2EHttpOptions,
    onIdentityChanged: (address: string) => void,
  ) {
    this.sessions = new StorageSessionStore(storage);
    this.identities = new StorageIdentityStore(storage, onIdentityChanged);
    this.preKeys = new StoragePreKeyStore(storage);
    this.signedPreKeys = new StorageSignedPreKeyStore(storage);
    this.kyberPreKeys = new StorageKyberPreKeyStore(storage);
    this.self = addressOf({ userId, deviceId });
  }

  /** Opens the device's E2E state, creating its identity key pair and registration id on first use. */
  static async open(options: {
    userId: string;
    deviceId: string;
    storage: E2EStorage;
    http: E2EHttpOptions;
    /** Called when a peer device's identity key changed (its safety number changed). */
    onIdentityChanged?: (address: string) => void;
  }): Promise<E2EDevice> {
    const { storage } = options;
    if ((await storage.get('identity:self')) === null) {
      const registration = new Uint8Array(2);
      new DataView(registration.buffer).setUint16(0, randomInt(1, 16381));
      await storage.set('identity:registration', registration);
      await storage.set('identity:self', IdentityKeyPair.generate().serialize());
    }
    return new E2EDevice(
      options.userId,
      options.deviceId,
      storage,
      options.http,
      options.onIdentityChanged ?? (() => {}),
    );
  }

  /** This device's serialized identity public key (33 bytes). */
  async identityKey(): Promise<Uint8Array> {
    return (await this.identities.getIdentityKeyPair()).publicKey.serialize();
  }

  private async counter(name: string, take: number): Promise<number> {
    const stored = await this.storage.get(`meta:${name}`);
    const next = stored === null ? 1 : new DataView(stored.buffer, stored.byteOffset).getUint32(0);
    const after = new Uint8Array(4);
    new DataView(after.buffer).setUint32(0, next + take);
    await this.storage.set(`meta:${name}`, after);
    return next;
  }

  /**
   * Makes and uploads keys: on the first call the signed prekey and the Kyber last-resort prekey too, then
   * `preKeys` one-time prekeys of each kind. The private halves are stored before the upload.
   */
  async uploadKeys(options: { preKeys?: number; kyberPreKeys?: number } = {}): Promise<KeyStatus> {
    const pair = await this.identities.getIdentityKeyPair();
    const sign = (data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> => pair.privateKey.sign(data);
    const first = (await this.storage.get(`signed:${SIGNED_PREKEY_ID}`)) === null;
    const body: Record<string, unknown> = {
      identityKey: b64(pair.publicKey.serialize()),
      registrationId: await this.identities.getLocalRegistrationId(),
    };
    if (first) {
      const signed = PrivateKey.generate();
      const signedPublic = signed.getPublicKey().serialize();
      const signature = sign(signedPublic);
      await this.signedPreKeys.saveSignedPreKey(
        SIGNED_PREKEY_ID,
        SignedPreKeyRecord.new(SIGNED_PREKEY_ID, Date.now(), signed.getPublicKey(), signed, signature),
      );
      body['signedPreKey'] = { keyId: SIGNED_PREKEY_ID, publicKey: b64(signedPublic), signature: b64(signature) };
      const kyber = KEMKeyPair.generate();
      const kyberPublic = kyber.getPublicKey().serialize();
      const kyberSignature = sign(kyberPublic);
      await this.kyberPreKeys.saveKyberPreKey(
        KYBER_LAST_RESORT_ID,
        KyberPreKeyRecord.new(KYBER_LAST_RESORT_ID, Date.now(), kyber, kyberSignature),
        true,
      );
      body['kyberLastResortPreKey'] = {
        keyId: KYBER_LAST_RESORT_ID,
        publicKey: b64(kyberPublic),
        signature: b64(kyberSignature),
      };
    }
    const oneTime = options.preKeys ?? 20;
    const firstPreKey = await this.counter('next-prekey', oneTime);
    const preKeys = [];
    for (let id = firstPreKey; id < firstPreKey + oneTime; id++) {
      const key = PrivateKey.generate();
      await this.preKeys.savePreKey(id, PreKeyRecord.new(id, key.getPublicKey(), key));
      preKeys.push({ keyId: id, publicKey: b64(key.getPublicKey().serialize()) });
    }
    const kyberCount = options.kyberPreKeys ?? oneTime;
    const firstKyber = await this.counter('next-kyber', kyberCount);
    const kyberPreKeys = [];
    for (let id = firstKyber; id < firstKyber + kyberCount; id++) {
      const kyber = KEMKeyPair.generate();
      const publicKey = kyber.getPublicKey().serialize();
      const signature = sign(publicKey);
      await this.kyberPreKeys.saveKyberPreKey(id, KyberPreKeyRecord.new(id, Date.now(), kyber, signature));
      kyberPreKeys.push({ keyId: id, publicKey: b64(publicKey), signature: b64(signature) });
    }
    body['preKeys'] = preKeys;
    body['kyberPreKeys'] = kyberPreKeys;
    return this.api<KeyStatus>('PUT', '/v1/keys', body);
  }

  /** Uploads more one-time prekeys when the server says the device runs low; true when it did. */
  async refillIfLow(batch = 20): Promise<boolean> {
    const status = await this.api<KeyStatus>('GET', '/v1/keys');
    if (!status.refill) return false;
    await this.uploadKeys({ preKeys: batch, kyberPreKeys: batch });
    return true;
  }

  /**
   * Fetches bundles of a user's devices (one of them with `deviceId`) and sets up a session with each (PQXDH).
   * @returns the devices it set up; none when the user has no keyed device
   */
  async fetchDevices(userId: string, deviceId?: string): Promise<string[]> {
    const query = deviceId === undefined ? '' : `?deviceId=${encodeURIComponent(deviceId)}`;
    let answer: { devices: WireBundle[] };
    try {
      answer = await this.api('GET', `/v1/keys/${encodeURIComponent(userId)}${query}`);
    } catch (error) {
      if (error instanceof ClientError && error.serverCode === 'CM_ERR_E2E_NO_KEYS') {
        await this.rememberDevices(userId, (known) => (deviceId === undefined ? [] : known));
        return [];
      }
      throw error;
    }
    for (const bundle of answer.devices) {
      const preKeyBundle = PreKeyBundle.new(
        bundle.registrationId,
        1,
        bundle.preKey?.keyId ?? null,
        bundle.preKey === null ? null : PublicKey.deserialize(bytes(bundle.preKey.publicKey)),
        bundle.signedPreKey.keyId,
        PublicKey.deserialize(bytes(bundle.signedPreKey.publicKey)),
        bytes(bundle.signedPreKey.signature),
        PublicKey.deserialize(bytes(bundle.identityKey)),
        bundle.kyberPreKey.keyId,
        KEMPublicKey.deserialize(bytes(bundle.kyberPreKey.publicKey)),
        bytes(bundle.kyberPreKey.signature),
      );
      await processPreKeyBundle(
        preKeyBundle,
        addressOf({ userId, deviceId: bundle.deviceId }),
        this.self,
        this.sessions,
        this.identities,
      );
    }
    const fetched = answer.devices.map((d) => d.deviceId);
    await this.rememberDevices(userId, (known) =>
      deviceId === undefined ? fetched : [...new Set([...known, ...fetched])],
    );
    return fetched;
  }

  /** The devices of a user this device has sessions with, or null when it never looked. */
  async knownDevices(userId: string): Promise<string[] | null> {
    const stored = await this.storage.get(`devices:${userId}`);
    return stored === null ? null : (JSON.parse(Buffer.from(stored).toString('utf8')) as string[]);
  }

  private async rememberDevices(userId: string, change: (known: string[]) => string[]): Promise<void> {
    const next = change((await this.knownDevices(userId)) ?? []).sort();
    await this.storage.set(`devices:${userId}`, encoder.encode(JSON.stringify(next)));
  }

  /** Forgets a device (stale): its session goes, the next send no longer encrypts for it. */
  async forgetDevice(device: DeviceAddress): Promise<void> {
    await this.sessions.deleteSession(addressOf(device));
    await this.rememberDevices(device.userId, (known) => known.filter((d) => d !== device.deviceId));
  }

  /** Encrypts the content once per device (each must have a session: {@link fetchDevices}). */
  async encrypt(devices: readonly DeviceAddress[], content: E2EContent): Promise<WireEnvelope[]> {
    const plaintext = encoder.encode(JSON.stringify(content));
    const envelopes: WireEnvelope[] = [];
    for (const device of devices) {
      const message = await signalEncrypt(plaintext, addressOf(device), this.self, this.sessions, this.identities);
      envelopes.push({
        userId: device.userId,
        deviceId: device.deviceId,
        ciphertext: b64(message.serialize()),
        envelopeType: message.type(),
      });
    }
    return envelopes;
  }

  /**
   * Decrypts the envelope a device sent to this one (a `messageReceived` frame's `by` and its envelope).
   * @throws ClientError CM_ERR_CLIENT_E2E_DECRYPT_FAILED
   */
  async decrypt(from: DeviceAddress, envelope: { ciphertext: string; envelopeType: number }): Promise<E2EContent> {
    const address = addressOf(from);
    let plaintext: Uint8Array;
    try {
      if (envelope.envelopeType === CiphertextMessageType.PreKey) {
        plaintext = await signalDecryptPreKey(
          PreKeySignalMessage.deserialize(bytes(envelope.ciphertext)),
          address,
          this.self,
          this.sessions,
          this.identities,
          this.preKeys,
          this.signedPreKeys,
          this.kyberPreKeys,
        );
        // A new device of the sender wrote first: replies go to it too.
        await this.rememberDevices(from.userId, (known) => [...new Set([...known, from.deviceId])]);
      } else if (envelope.envelopeType === CiphertextMessageType.Whisper) {
        plaintext = await signalDecrypt(
          SignalMessage.deserialize(bytes(envelope.ciphertext)),
          address,
          this.self,
          this.sessions,
          this.identities,
        );
      } else {
        throw new Error(`envelope type ${envelope.envelopeType} is not a Signal message`);
      }
    } catch (cause) {
      throw new ClientError('CM_ERR_CLIENT_E2E_DECRYPT_FAILED', (cause as Error).message, { cause });
    }
    return JSON.parse(Buffer.from(plaintext).toString('utf8')) as E2EContent;
  }

  /**
   * Encrypts for every device of the chat's members (this user's other devices included) and sends it. When the
   * server refuses the envelopes for its device lists (CM_ERR_E2E_DEVICE_LIST_MISMATCH), it sets up sessions with
   * the missing devices, forgets the stale ones and sends again with the same clientMessageId.
   */
  async sendEncrypted(
    client: ChatClient,
    chatId: string,
    memberUserIds: readonly string[],
    content: E2EContent,
    options: {
      clientMessageId?: string;
      /**
       * Plain references of the encrypted attachments (id, `application/octet-stream`, size and SHA-256 of the
       * ciphertext), so the server lets the members download the blobs; keys and real types stay in `content`.
       */
      attachments?: MessageContent['attachments'];
    } = {},
  ): Promise<CommandAck> {
    const clientMessageId = options.clientMessageId ?? randomUUID();
    const members = [...new Set([...memberUserIds, this.userId])];
    for (let round = 1; ; round++) {
      const devices: DeviceAddress[] = [];
      for (const userId of members) {
        const known = (await this.knownDevices(userId)) ?? (await this.fetchDevices(userId));
        for (const deviceId of known) {
          if (userId === this.userId && deviceId === this.deviceId) continue;
          devices.push({ userId, deviceId });
        }
      }
      const envelopes = await this.encrypt(devices, content);
      try {
        return await client.send(
          chatId,
          { envelopes, ...(options.attachments === undefined ? {} : { attachments: options.attachments }) },
          { clientMessageId },
        );
      } catch (error) {
        if (!(error instanceof ClientError) || error.serverCode !== 'CM_ERR_E2E_DEVICE_LIST_MISMATCH') throw error;
        if (round >= MAX_DEVICE_LIST_ROUNDS) {
          throw new ClientError('CM_ERR_CLIENT_E2E_SEND_FAILED', `device lists still differ after ${round} sends`, {
            cause: error,
            context: { chatId, clientMessageId },
          });
        }
        const context = error.context as { missingDevices?: UserDevices[]; staleDevices?: UserDevices[] };
        for (const stale of context.staleDevices ?? []) {
          for (const deviceId of stale.deviceIds) await this.forgetDevice({ userId: stale.userId, deviceId });
        }
        for (const missing of context.missingDevices ?? []) {
          for (const deviceId of missing.deviceIds) await this.fetchDevices(missing.userId, deviceId);
        }
      }
    }
  }

  private async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const fetchImpl = this.http.fetch ?? globalThis.fetch;
    const response = await fetchImpl(`${this.http.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await this.http.token()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const code = typeof answer['code'] === 'string' ? answer['code'] : undefined;
      throw new ClientError('CM_ERR_CLIENT_E2E_SEND_FAILED', `${method} ${path}: ${response.status} ${code ?? ''}`, {
        context: { path, status: response.status, ...(code === undefined ? {} : { serverCode: code }) },
      });
    }
    return answer as T;
  }
}
