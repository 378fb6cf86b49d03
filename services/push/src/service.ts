import { getConfigSection } from '@chatmesh/config';
import { createMetrics } from '@chatmesh/metrics';
import { CORE_PATH_RETRY, ServiceStatus, ensureTopics, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS } from '@chatmesh/schemas';
import { loadCredentials } from './credentials.js';
import { createDelivery } from './delivery.js';
import { PUSH_DEVICE_REMOVALS_GROUP_ID, PUSH_REGISTRATIONS_GROUP_ID, PUSH_REQUESTS_GROUP_ID } from './group-ids.js';
import { PUSH_METRICS } from './metrics.js';
import { createProviders } from './providers/index.js';
import { PUSH_CONFIG } from './push-config.js';
import { createChannelRegistry } from './registry.js';
import { createWakeUpProcessor } from './wakeups.js';

/**
 * The push service, three consumers in one process:
 * - `push.requests` (keyed by user, from fan-out): content-free wake-ups to the user's offline devices through FCM,
 *   APNs, Web Push or the local push inbox, coalesced per device and chat, retried, dead tokens deleted, requests
 *   that keep failing parked on `push.requests.dlq` with their code;
 * - `push.registrations` (keyed by user, from the gateway's HTTP API): the channel registry's writes;
 * - `presence.events` (its own group): the channels of a removed device are deleted.
 * It is the single writer of `push_channels` and `push_inbox`.
 */
export const pushService: ServiceModule = {
  name: 'push',
  description: 'Sends content-free wake-up pushes to offline devices through FCM, APNs and Web Push adapters',
  consumes: [TOPICS.pushRequests.name, TOPICS.pushRegistrations.name, TOPICS.presenceEvents.name],
  produces: [`${TOPICS.pushRequests.name}.dlq`],
  config: { push: PUSH_CONFIG },
  metrics: PUSH_METRICS,
  async start(deps) {
    const settings = getConfigSection(deps.config, 'push', PUSH_CONFIG);
    // Refuses to start on unusable credentials (CM_ERR_PUSH_CREDENTIALS_INVALID); none given disables the provider.
    const credentials = loadCredentials(settings);
    const metrics = createMetrics(deps.registry, PUSH_METRICS);
    const topics = await ensureTopics(deps.bus, deps.codec, [
      TOPICS.pushRequests,
      TOPICS.pushRegistrations,
      TOPICS.presenceEvents,
    ]);
    const providers = createProviders(settings, credentials, deps.store.pushInbox);
    for (const [provider, reason] of providers.disabled)
      deps.logger.warn({ provider, reason }, 'push provider disabled');
    const deliver = createDelivery({
      policy: {
        maxAttempts: settings.maxAttempts,
        initialDelayMs: settings.retryInitialDelayMs,
        maxDelayMs: settings.retryMaxDelayMs,
      },
      metrics,
    });
    const wakeUps = createWakeUpProcessor({
      channels: deps.store.pushChannels,
      presence: deps.presence,
      providers: providers.enabled,
      disabled: providers.disabled,
      deliver,
      coalesceWindowMs: settings.coalesceWindowMs,
      metrics,
      logger: deps.logger,
    });
    const registry = createChannelRegistry(deps.store.pushChannels);
    const counts = {
      requests: 0,
      sent: 0,
      coalesced: 0,
      online: 0,
      removed: 0,
      disabled: 0,
      channelChanges: 0,
      deviceRemovals: 0,
    };
    const status = new ServiceStatus();

    const requests = await deps.typed.subscribe({
      groupId: PUSH_REQUESTS_GROUP_ID,
      topics: [TOPICS.pushRequests.name],
      retry: CORE_PATH_RETRY,
      // Only retriable errors (a store outage) are retried by the bus: provider failures were retried per device
      // already and go to push.requests.dlq with their code.
      retryAll: false,
      keyConcurrency: settings.keyConcurrency,
      handler: async (request) => {
        const outcome = await wakeUps.process(request);
        counts.requests++;
        counts.sent += outcome.sent.length;
        counts.coalesced += outcome.coalesced.length;
        counts.online += outcome.online.length;
        counts.removed += outcome.removed.length;
        counts.disabled += outcome.disabled.length;
      },
    });
    const registrations = await deps.typed.subscribe({
      groupId: PUSH_REGISTRATIONS_GROUP_ID,
      topics: [TOPICS.pushRegistrations.name],
      retry: CORE_PATH_RETRY,
      // An invalid registration (CM_ERR_PUSH_CHANNEL_INVALID) goes to the dead-letter topic at once; a store outage
      // (CM_ERR_PUSH_STORE_UNAVAILABLE) is retried.
      retryAll: false,
      handler: async (command) => {
        const kind = await registry.apply(command);
        counts.channelChanges++;
        metrics.pushChannelChangesTotal.inc({ kind });
      },
    });
    const removals = await deps.typed.subscribe({
      groupId: PUSH_DEVICE_REMOVALS_GROUP_ID,
      topics: [TOPICS.presenceEvents.name],
      retry: CORE_PATH_RETRY,
      retryAll: false,
      handler: async (event) => {
        if (await registry.onPresence(event)) {
          counts.deviceRemovals++;
          metrics.pushChannelChangesTotal.inc({ kind: 'device_removed' });
        }
      },
    });
    status.readyWhen(requests.ready, registrations.ready, removals.ready);
    const providerDetails = Object.fromEntries([
      ...[...providers.enabled.keys()].map((name) => [name, 'enabled']),
      ...[...providers.disabled].map(([name, reason]) => [name, `disabled: ${reason}`]),
    ]);
    return {
      name: 'push',
      stop: () =>
        status.stop(async () => {
          await Promise.all([requests.stop(), registrations.stop(), removals.stop()]);
          await Promise.all([...providers.enabled.values()].map((p) => p.close()));
        }),
      health: () =>
        status.health({
          topics,
          providers: providerDetails,
          coalesceWindowMs: settings.coalesceWindowMs,
          assignment: requests.assignment(),
          ...counts,
        }),
    };
  },
};
