import { ChatmeshError } from '@chatmesh/errors';
import { isBranch, type PresenceEvent, type PushChannelCommand, type RegisterPushChannel } from '@chatmesh/schemas';
import type { PushChannel, PushChannelStore } from '@chatmesh/store';

/**
 * The push channel registry's writes (the push service is the table's single writer): registrations and
 * unregistrations from `push.registrations`, and the channels of devices presence removed. Every write carries the
 * change's time, so the newest change per device wins whatever order they are applied in (a replayed registration
 * never brings back a removed device's channel).
 */
export function createChannelRegistry(channels: PushChannelStore): {
  apply(command: PushChannelCommand): Promise<'register' | 'unregister'>;
  onPresence(event: PresenceEvent): Promise<boolean>;
} {
  // Store failures are retriable (the bus retries them); an invalid registration is not (dead-lettered at once).
  const write = async (call: () => Promise<void>): Promise<void> => {
    try {
      await call();
    } catch (error) {
      throw new ChatmeshError(
        'CM_ERR_PUSH_STORE_UNAVAILABLE',
        `could not write a push channel: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  };
  return {
    async apply(command) {
      const change = command.change;
      if (isBranch(change, 'chatmesh.push.UnregisterPushChannel')) {
        await write(() => channels.remove(command.userId, command.deviceId, command.atMs));
        return 'unregister';
      }
      const channel = channelOf(change['chatmesh.push.RegisterPushChannel']);
      await write(() => channels.put(command.userId, command.deviceId, channel, command.atMs));
      return 'register';
    },
    async onPresence(event) {
      if (!isBranch(event.change, 'chatmesh.presence.DeviceRemoval')) return false;
      const removed = event.change['chatmesh.presence.DeviceRemoval'].removedDeviceId;
      await write(() => channels.remove(event.userId, removed, event.atMs));
      return true;
    },
  };
}

/**
 * The stored channel of a registration.
 * @throws ChatmeshError CM_ERR_PUSH_CHANNEL_INVALID when a field its provider needs is missing
 */
export function channelOf(r: RegisterPushChannel): PushChannel {
  const missing = (field: string): never => {
    throw new ChatmeshError('CM_ERR_PUSH_CHANNEL_INVALID', `a ${r.provider} channel needs ${field}`, {
      context: { provider: r.provider, field },
    });
  };
  switch (r.provider) {
    case 'FCM':
      return { provider: 'fcm', token: r.token ?? missing('token') };
    case 'APNS': {
      const environment = r.apnsEnvironment;
      if (environment !== 'sandbox' && environment !== 'production')
        return missing('apnsEnvironment (sandbox or production)');
      return {
        provider: 'apns',
        token: r.token ?? missing('token'),
        topic: r.apnsTopic ?? missing('apnsTopic'),
        environment,
      };
    }
    case 'WEB_PUSH':
      return {
        provider: 'web_push',
        endpoint: r.endpoint ?? missing('endpoint'),
        p256dh: r.p256dh ?? missing('p256dh'),
        auth: r.auth ?? missing('auth'),
      };
    case 'INBOX':
      return { provider: 'inbox' };
  }
}
