import type { Direction, PrivateKey, ProtocolAddress } from '@signalapp/libsignal-client';
import {
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyRecord,
  PreKeyStore,
  PublicKey,
  SessionRecord,
  SessionStore,
  SignedPreKeyRecord,
  SignedPreKeyStore,
} from '@signalapp/libsignal-client';

import type { E2EStorage } from './storage.js';

const copy = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => Uint8Array.from(bytes);

/** A missing record libsignal asked for: it turns this into its own error. */
function missing(what: string): Error {
  return new Error(`no ${what} in this device's E2E storage`);
}

/** libsignal's session store on an {@link E2EStorage}. */
export class StorageSessionStore extends SessionStore {
  constructor(private readonly storage: E2EStorage) {
    super();
  }
  async saveSession(address: ProtocolAddress, record: SessionRecord): Promise<void> {
    await this.storage.set(`session:${address.toString()}`, record.serialize());
  }
  async getSession(address: ProtocolAddress): Promise<SessionRecord | null> {
    const bytes = await this.storage.get(`session:${address.toString()}`);
    return bytes === null ? null : SessionRecord.deserialize(copy(bytes));
  }
  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    const records = await Promise.all(addresses.map((a) => this.getSession(a)));
    return records.map((record, i) => {
      if (record === null) throw missing(`session with ${addresses[i]!.toString()}`);
      return record;
    });
  }
  async deleteSession(address: ProtocolAddress): Promise<void> {
    await this.storage.delete(`session:${address.toString()}`);
  }
}

/**
 * libsignal's identity store: this device's identity key pair and the identities it has seen. A changed identity
 * is trusted on first use and reported (the safety number changed); an app that wants verification checks
 * `identityChanged` and asks the user.
 */
export class StorageIdentityStore extends IdentityKeyStore {
  constructor(
    private readonly storage: E2EStorage,
    private readonly onIdentityChanged: (address: string) => void = () => {},
  ) {
    super();
  }
  async getIdentityKey(): Promise<PrivateKey> {
    return (await this.getIdentityKeyPair()).privateKey;
  }
  override async getIdentityKeyPair(): Promise<IdentityKeyPair> {
    const bytes = await this.storage.get('identity:self');
    if (bytes === null) throw missing('identity key pair');
    return IdentityKeyPair.deserialize(copy(bytes));
  }
  async getLocalRegistrationId(): Promise<number> {
    const bytes = await this.storage.get('identity:registration');
    if (bytes === null) throw missing('registration id');
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0);
  }
  async saveIdentity(address: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const previous = await this.getIdentity(address);
    await this.storage.set(`identity:peer:${address.toString()}`, key.serialize());
    if (previous !== null && !previous.equals(key)) {
      this.onIdentityChanged(address.toString());
      return IdentityChange.ReplacedExisting;
    }
    return IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(_address: ProtocolAddress, _key: PublicKey, _direction: Direction): Promise<boolean> {
    // Trust on first use, and on change (reported through saveIdentity): Signal's default for unverified contacts.
    return true;
  }
  async getIdentity(address: ProtocolAddress): Promise<PublicKey | null> {
    const bytes = await this.storage.get(`identity:peer:${address.toString()}`);
    return bytes === null ? null : PublicKey.deserialize(copy(bytes));
  }
}

/** libsignal's one-time prekey store. */
export class StoragePreKeyStore extends PreKeyStore {
  constructor(private readonly storage: E2EStorage) {
    super();
  }
  async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    await this.storage.set(`prekey:${id}`, record.serialize());
  }
  async getPreKey(id: number): Promise<PreKeyRecord> {
    const bytes = await this.storage.get(`prekey:${id}`);
    if (bytes === null) throw missing(`prekey ${id}`);
    return PreKeyRecord.deserialize(copy(bytes));
  }
  async removePreKey(id: number): Promise<void> {
    await this.storage.delete(`prekey:${id}`);
  }
}

/** libsignal's signed prekey store. */
export class StorageSignedPreKeyStore extends SignedPreKeyStore {
  constructor(private readonly storage: E2EStorage) {
    super();
  }
  async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    await this.storage.set(`signed:${id}`, record.serialize());
  }
  async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const bytes = await this.storage.get(`signed:${id}`);
    if (bytes === null) throw missing(`signed prekey ${id}`);
    return SignedPreKeyRecord.deserialize(copy(bytes));
  }
}

/** libsignal's Kyber prekey store: a one-time key is deleted once used, the last-resort key stays. */
export class StorageKyberPreKeyStore extends KyberPreKeyStore {
  constructor(private readonly storage: E2EStorage) {
    super();
  }
  async saveKyberPreKey(id: number, record: KyberPreKeyRecord, lastResort = false): Promise<void> {
    await this.storage.set(`kyber:${id}`, record.serialize());
    if (lastResort) await this.storage.set(`kyber-last-resort:${id}`, new Uint8Array([1]));
  }
  async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const bytes = await this.storage.get(`kyber:${id}`);
    if (bytes === null) throw missing(`Kyber prekey ${id}`);
    return KyberPreKeyRecord.deserialize(copy(bytes));
  }
  async markKyberPreKeyUsed(id: number): Promise<void> {
    if ((await this.storage.get(`kyber-last-resort:${id}`)) === null) await this.storage.delete(`kyber:${id}`);
  }
}
