import type { PresenceRegistry } from '@chatmesh/presence-registry';
import { isDirectChatId } from '@chatmesh/protocol';
import { gatewayDeliveriesTopic, type GatewayDelivery } from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';

import type { IdentityChange } from './key-routes.js';

/** What {@link createIdentityNotifier} needs. */
export interface IdentityNotifierDeps {
  readonly store: ChatStore;
  readonly presence: PresenceRegistry;
  /** Produces a delivery to a gateway's delivery topic. */
  readonly deliver: (topic: `gateway.${string}.deliveries`, key: string, value: GatewayDelivery) => Promise<void>;
}

/** The contacts of a user for safety-number notices: the other members of the user's direct chats. */
export async function directContacts(store: ChatStore, userId: string): Promise<string[]> {
  const chats = (await store.directory.chatsOfUser(userId)).filter((m) => isDirectChatId(m.chatId));
  const members = await Promise.all(chats.map((m) => store.directory.currentMembers(m.chatId)));
  return [...new Set(members.flat().map((m) => m.userId))].filter((u) => u !== userId).sort();
}

/**
 * Tells the online devices of a user's contacts (and the user's own other devices) that one of the user's devices
 * has a new identity key: an `identityKeyChanged` frame through the gateway each device is connected to. Devices
 * that are offline learn it from the next message of that device (libsignal reports the changed identity).
 */
export function createIdentityNotifier(deps: IdentityNotifierDeps): (change: IdentityChange) => Promise<void> {
  return async (change) => {
    const recipients = [...(await directContacts(deps.store, change.userId)), change.userId];
    const online = await deps.presence.onlineDevicesOfUsers(recipients);
    const sends: Array<Promise<void>> = [];
    for (const [userId, devices] of online) {
      for (const device of devices) {
        if (userId === change.userId && device.deviceId === change.deviceId) continue;
        const value: GatewayDelivery = {
          gatewayId: device.gatewayId,
          userId,
          deviceId: device.deviceId,
          createdAtMs: change.atMs,
          payload: {
            'chatmesh.gateway.IdentityKeyNotice': {
              subjectUserId: change.userId,
              deviceId: change.deviceId,
              identityKey: change.identityKey,
              atMs: change.atMs,
            },
          },
        };
        sends.push(deps.deliver(gatewayDeliveriesTopic(device.gatewayId).name, userId, value));
      }
    }
    await Promise.all(sends);
  };
}
