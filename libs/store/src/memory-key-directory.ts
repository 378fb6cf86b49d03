import type { DeviceKeysRecord, KeyDirectoryStore, PreKeyRecord, SignedPreKeyRecord } from './types.js';

/**
 * In-process {@link KeyDirectoryStore}. A claim removes the key in the same tick it reads it, so concurrent fetches
 * in one process never share a key (the Cassandra twin needs a conditional delete for that).
 */
export function createMemoryKeyDirectory(): KeyDirectoryStore {
  const devices = new Map<string, Map<string, DeviceKeysRecord>>();
  const oneTime = new Map<string, Map<number, PreKeyRecord>>();
  const kyber = new Map<string, Map<number, SignedPreKeyRecord>>();
  const slot = <T>(map: Map<string, Map<number, T>>, userId: string, deviceId: string): Map<number, T> => {
    const key = `${userId}\u0000${deviceId}`;
    let keys = map.get(key);
    if (!keys) map.set(key, (keys = new Map()));
    return keys;
  };
  const claim = <T>(keys: Map<number, T>): T | null => {
    const first = [...keys.entries()].sort(([a], [b]) => a - b)[0];
    if (first === undefined) return null;
    keys.delete(first[0]);
    return first[1];
  };
  return {
    async putDeviceKeys(userId, keys) {
      let byDevice = devices.get(userId);
      if (!byDevice) devices.set(userId, (byDevice = new Map()));
      const previous = byDevice.get(keys.deviceId) ?? null;
      if (previous !== null && !previous.identityKey.equals(keys.identityKey)) {
        slot(oneTime, userId, keys.deviceId).clear();
        slot(kyber, userId, keys.deviceId).clear();
      }
      byDevice.set(keys.deviceId, keys);
      return { previousIdentityKey: previous?.identityKey ?? null };
    },
    async getDeviceKeys(userId, deviceId) {
      return devices.get(userId)?.get(deviceId) ?? null;
    },
    async listDeviceKeys(userId) {
      return [...(devices.get(userId)?.values() ?? [])].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
    },
    async addOneTimePreKeys(userId, deviceId, keys) {
      const stored = slot(oneTime, userId, deviceId);
      for (const key of keys) stored.set(key.keyId, key);
    },
    async addKyberPreKeys(userId, deviceId, keys) {
      const stored = slot(kyber, userId, deviceId);
      for (const key of keys) stored.set(key.keyId, key);
    },
    async claimOneTimePreKey(userId, deviceId) {
      return claim(slot(oneTime, userId, deviceId));
    },
    async claimKyberPreKey(userId, deviceId) {
      return claim(slot(kyber, userId, deviceId));
    },
    async countPreKeys(userId, deviceId) {
      return { oneTime: slot(oneTime, userId, deviceId).size, kyber: slot(kyber, userId, deviceId).size };
    },
  };
}
