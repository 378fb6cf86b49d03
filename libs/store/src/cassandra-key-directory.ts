import type cassandra from 'cassandra-driver';

import type { DeviceKeysRecord, KeyDirectoryStore, PreKeyRecord, SignedPreKeyRecord } from './types.js';

/** Candidates one claim reads at a time; concurrent claimers pick among them at random to collide less. */
const CLAIM_CANDIDATES = 16;

/**
 * Cassandra {@link KeyDirectoryStore} over migration 0007's tables. Uploads are plain writes (the device is the only
 * writer of its keys); a claim is `DELETE ... IF EXISTS`, the one lightweight transaction of this store, paid once
 * per bundle fetch so that no one-time prekey is ever handed out twice.
 */
export function createCassandraKeyDirectory(client: cassandra.Client, ks: string): KeyDirectoryStore {
  const columns =
    'device_id, identity_key, registration_id, signed_prekey_id, signed_prekey, signed_prekey_signature, kyber_last_resort_id, kyber_last_resort, kyber_last_resort_signature, updated_at';
  const q = {
    putDevice: `INSERT INTO ${ks}.e2e_device_keys (user_id, ${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    getDevice: `SELECT ${columns} FROM ${ks}.e2e_device_keys WHERE user_id = ? AND device_id = ?`,
    listDevices: `SELECT ${columns} FROM ${ks}.e2e_device_keys WHERE user_id = ?`,
    addOneTime: `INSERT INTO ${ks}.e2e_one_time_prekeys (user_id, device_id, key_id, public_key) VALUES (?, ?, ?, ?)`,
    addKyber: `INSERT INTO ${ks}.e2e_kyber_prekeys (user_id, device_id, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?)`,
    clearOneTime: `DELETE FROM ${ks}.e2e_one_time_prekeys WHERE user_id = ? AND device_id = ?`,
    clearKyber: `DELETE FROM ${ks}.e2e_kyber_prekeys WHERE user_id = ? AND device_id = ?`,
    candidatesOneTime: `SELECT key_id, public_key FROM ${ks}.e2e_one_time_prekeys WHERE user_id = ? AND device_id = ? LIMIT ${CLAIM_CANDIDATES}`,
    candidatesKyber: `SELECT key_id, public_key, signature FROM ${ks}.e2e_kyber_prekeys WHERE user_id = ? AND device_id = ? LIMIT ${CLAIM_CANDIDATES}`,
    claimOneTime: `DELETE FROM ${ks}.e2e_one_time_prekeys WHERE user_id = ? AND device_id = ? AND key_id = ? IF EXISTS`,
    claimKyber: `DELETE FROM ${ks}.e2e_kyber_prekeys WHERE user_id = ? AND device_id = ? AND key_id = ? IF EXISTS`,
    countOneTime: `SELECT COUNT(*) AS n FROM ${ks}.e2e_one_time_prekeys WHERE user_id = ? AND device_id = ?`,
    countKyber: `SELECT COUNT(*) AS n FROM ${ks}.e2e_kyber_prekeys WHERE user_id = ? AND device_id = ?`,
  };
  const prepare = { prepare: true } as const;
  const toRecord = (row: cassandra.types.Row): DeviceKeysRecord => ({
    deviceId: row['device_id'] as string,
    identityKey: row['identity_key'] as Buffer,
    registrationId: row['registration_id'] as number,
    signedPreKey: {
      keyId: row['signed_prekey_id'] as number,
      publicKey: row['signed_prekey'] as Buffer,
      signature: row['signed_prekey_signature'] as Buffer,
    },
    kyberLastResort: {
      keyId: row['kyber_last_resort_id'] as number,
      publicKey: row['kyber_last_resort'] as Buffer,
      signature: row['kyber_last_resort_signature'] as Buffer,
    },
    updatedAtMs: (row['updated_at'] as Date).getTime(),
  });
  const getDeviceKeys = async (userId: string, deviceId: string): Promise<DeviceKeysRecord | null> => {
    const row = (await client.execute(q.getDevice, [userId, deviceId], prepare)).first();
    return row ? toRecord(row) : null;
  };
  /** Reads candidates and deletes one conditionally; a lost race moves on to another candidate. */
  const claim = async <T>(
    candidates: string,
    del: string,
    userId: string,
    deviceId: string,
    read: (row: cassandra.types.Row) => T,
  ): Promise<T | null> => {
    for (;;) {
      const rows = (await client.execute(candidates, [userId, deviceId], prepare)).rows;
      if (rows.length === 0) return null;
      const shuffled = [...rows].sort(() => Math.random() - 0.5);
      for (const row of shuffled) {
        const result = await client.execute(del, [userId, deviceId, row['key_id'] as number], prepare);
        if (result.wasApplied()) return read(row);
      }
    }
  };
  const count = async (query: string, userId: string, deviceId: string): Promise<number> =>
    Number((await client.execute(query, [userId, deviceId], prepare)).first()?.['n'] ?? 0);
  return {
    async putDeviceKeys(userId, k) {
      const previous = await getDeviceKeys(userId, k.deviceId);
      if (previous !== null && !previous.identityKey.equals(k.identityKey)) {
        await Promise.all([
          client.execute(q.clearOneTime, [userId, k.deviceId], prepare),
          client.execute(q.clearKyber, [userId, k.deviceId], prepare),
        ]);
      }
      await client.execute(
        q.putDevice,
        [
          userId,
          k.deviceId,
          k.identityKey,
          k.registrationId,
          k.signedPreKey.keyId,
          k.signedPreKey.publicKey,
          k.signedPreKey.signature,
          k.kyberLastResort.keyId,
          k.kyberLastResort.publicKey,
          k.kyberLastResort.signature,
          new Date(k.updatedAtMs),
        ],
        prepare,
      );
      return { previousIdentityKey: previous?.identityKey ?? null };
    },
    getDeviceKeys,
    async listDeviceKeys(userId) {
      return (await client.execute(q.listDevices, [userId], prepare)).rows.map(toRecord);
    },
    async addOneTimePreKeys(userId, deviceId, keys) {
      if (keys.length === 0) return;
      await client.batch(
        keys.map((key) => ({ query: q.addOneTime, params: [userId, deviceId, key.keyId, key.publicKey] })),
        { prepare: true, logged: false },
      );
    },
    async addKyberPreKeys(userId, deviceId, keys) {
      if (keys.length === 0) return;
      await client.batch(
        keys.map((key) => ({
          query: q.addKyber,
          params: [userId, deviceId, key.keyId, key.publicKey, key.signature],
        })),
        { prepare: true, logged: false },
      );
    },
    claimOneTimePreKey: (userId, deviceId) =>
      claim<PreKeyRecord>(q.candidatesOneTime, q.claimOneTime, userId, deviceId, (row) => ({
        keyId: row['key_id'] as number,
        publicKey: row['public_key'] as Buffer,
      })),
    claimKyberPreKey: (userId, deviceId) =>
      claim<SignedPreKeyRecord>(q.candidatesKyber, q.claimKyber, userId, deviceId, (row) => ({
        keyId: row['key_id'] as number,
        publicKey: row['public_key'] as Buffer,
        signature: row['signature'] as Buffer,
      })),
    async countPreKeys(userId, deviceId) {
      const [oneTime, kyber] = await Promise.all([
        count(q.countOneTime, userId, deviceId),
        count(q.countKyber, userId, deviceId),
      ]);
      return { oneTime, kyber };
    },
  };
}
