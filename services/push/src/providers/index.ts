import type { PushChannelProvider, PushInboxStore } from '@chatmesh/store';
import type { ProviderCredentials, PushSettings } from '../credentials.js';
import { createApnsProvider } from './apns.js';
import { createFcmProvider } from './fcm.js';
import { createInboxProvider } from './inbox.js';
import type { PushProviderAdapter } from './types.js';
import { createWebPushProvider } from './web-push.js';

/** The enabled adapters, and why each other provider is disabled. */
export interface ProviderSet {
  readonly enabled: ReadonlyMap<PushChannelProvider, PushProviderAdapter>;
  readonly disabled: ReadonlyMap<PushChannelProvider, string>;
}

/** Builds the adapters whose credentials were given (and the local inbox unless switched off). */
export function createProviders(
  settings: PushSettings,
  credentials: ProviderCredentials,
  inbox: PushInboxStore,
): ProviderSet {
  const enabled = new Map<PushChannelProvider, PushProviderAdapter>();
  const disabled = new Map<PushChannelProvider, string>();
  const common = { timeoutMs: settings.requestTimeoutMs, ttlSeconds: settings.wakeupTtlSeconds };
  if (credentials.fcm.enabled) {
    enabled.set(
      'fcm',
      createFcmProvider({
        ...credentials.fcm.value,
        baseUrl: settings.fcmBaseUrl,
        tokenUrl: settings.fcmTokenUrl,
        ...common,
      }),
    );
  } else disabled.set('fcm', credentials.fcm.reason);
  if (credentials.apns.enabled) {
    enabled.set(
      'apns',
      createApnsProvider({
        ...credentials.apns.value,
        productionUrl: settings.apnsProductionUrl,
        sandboxUrl: settings.apnsSandboxUrl,
        ...common,
      }),
    );
  } else disabled.set('apns', credentials.apns.reason);
  if (credentials.webPush.enabled)
    enabled.set('web_push', createWebPushProvider({ vapid: credentials.webPush.value, ...common }));
  else disabled.set('web_push', credentials.webPush.reason);
  if (settings.inboxEnabled === 'on') enabled.set('inbox', createInboxProvider(inbox));
  else disabled.set('inbox', 'CHATMESH_PUSH_INBOX=off');
  return { enabled, disabled };
}
