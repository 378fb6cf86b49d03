import type { PushChannel, PushInboxStore } from '@chatmesh/store';
import type { AttemptOutcome, PushProviderAdapter, WakeUp } from './types.js';

/**
 * The local push inbox: records the wake-up in the store's push inbox, which the gateway serves to the chat page
 * (`GET /v1/push/inbox`). Embedded mode's provider: it needs no credentials and reaches no one outside.
 */
export function createInboxProvider(store: PushInboxStore, clock: () => number = Date.now): PushProviderAdapter {
  return {
    name: 'inbox',
    async send(channel: PushChannel, wakeUp: WakeUp): Promise<AttemptOutcome> {
      if (channel.provider !== 'inbox') return { kind: 'rejected', reason: 'wrong_provider' };
      try {
        await store.record(wakeUp.userId, {
          deviceId: wakeUp.deviceId,
          chatId: wakeUp.chatId,
          badge: wakeUp.badge,
          atMs: clock(),
          requestId: wakeUp.requestId,
        });
      } catch {
        return { kind: 'retry', reason: 'store_unavailable', retryAfterMs: null };
      }
      return { kind: 'sent' };
    },
    async close() {},
  };
}
