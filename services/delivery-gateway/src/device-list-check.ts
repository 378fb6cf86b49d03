import type { ChatStore } from '@chatmesh/store';

/** Devices of one user, named in a device-list refusal. */
export interface UserDevices {
  readonly userId: string;
  readonly deviceIds: string[];
}

/** Why a send's envelopes do not fit the recipients' current device lists. */
export interface DeviceListMismatch {
  /** Current devices (with keys) that got no envelope: fetch their bundles, encrypt for them too. */
  readonly missingDevices: UserDevices[];
  /** Envelopes addressed to devices that are removed, unknown or without keys: drop those sessions. */
  readonly staleDevices: UserDevices[];
}

function grouped(pairs: ReadonlyArray<readonly [string, string]>): UserDevices[] {
  const byUser = new Map<string, string[]>();
  for (const [userId, deviceId] of pairs) {
    let devices = byUser.get(userId);
    if (!devices) byUser.set(userId, (devices = []));
    devices.push(deviceId);
  }
  return [...byUser]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([userId, deviceIds]) => ({ userId, deviceIds: deviceIds.sort() }));
}

/**
 * Checks a send's per-device envelopes against the chat's current members' device lists, as Signal-Server's 409/410
 * do: every current device of every member (the sender's other devices included, the sending device excluded) that
 * has uploaded keys needs exactly one envelope, and no envelope may go to another device of a member. A device
 * without keys cannot have a session, so it is not expected. Envelopes to non-members are ingest's to refuse (it
 * knows the membership at the message's sequence).
 * @returns null when the envelopes fit (or the sender is not a member: ingest answers that)
 */
export async function checkEnvelopeDevices(
  store: ChatStore,
  chatId: string,
  sender: { readonly userId: string; readonly deviceId: string },
  envelopes: ReadonlyArray<{ readonly userId: string; readonly deviceId: string }>,
): Promise<DeviceListMismatch | null> {
  const members = (await store.directory.currentMembers(chatId)).map((m) => m.userId);
  if (!members.includes(sender.userId)) return null;
  const expected = new Set<string>();
  const slot = (userId: string, deviceId: string): string => `${userId}\u0000${deviceId}`;
  await Promise.all(
    members.map(async (userId) => {
      const [devices, keyed] = await Promise.all([store.devices.list(userId), store.keys.listDeviceKeys(userId)]);
      const hasKeys = new Set(keyed.map((k) => k.deviceId));
      for (const d of devices) {
        if (d.removedAtMs !== null || !hasKeys.has(d.deviceId)) continue;
        if (userId === sender.userId && d.deviceId === sender.deviceId) continue;
        expected.add(slot(userId, d.deviceId));
      }
    }),
  );
  const memberSet = new Set(members);
  const addressed = new Set(envelopes.map((e) => slot(e.userId, e.deviceId)));
  const missing: Array<[string, string]> = [];
  const stale: Array<[string, string]> = [];
  for (const key of expected) {
    if (!addressed.has(key)) missing.push(key.split('\u0000') as [string, string]);
  }
  for (const e of envelopes) {
    if (memberSet.has(e.userId) && !expected.has(slot(e.userId, e.deviceId))) stale.push([e.userId, e.deviceId]);
  }
  if (missing.length === 0 && stale.length === 0) return null;
  return { missingDevices: grouped(missing), staleDevices: grouped(stale) };
}
