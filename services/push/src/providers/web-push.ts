import { createHash } from 'node:crypto';
import webpush from 'web-push';
import type { PushChannel } from '@chatmesh/store';
import {
  parseRetryAfter,
  transportFailure,
  type AttemptOutcome,
  type PushProviderAdapter,
  type WakeUp,
} from './types.js';

export interface VapidKeys {
  readonly publicKey: string;
  readonly privateKey: string;
  readonly subject: string;
}

export interface WebPushOptions {
  readonly vapid: VapidKeys;
  readonly timeoutMs: number;
  readonly ttlSeconds: number;
}

/** A Web Push Topic header is at most 32 base64url characters: the chat's collapse key hashed down. */
export function webPushTopic(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 32);
}

/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291). The `web-push` package
 * builds the request (the encrypted body and the VAPID Authorization header); fetch sends it, so Retry-After, the
 * timeout and http endpoints of a local stand-in are handled here. The payload is the wake-up only (chat and badge),
 * encrypted for the subscription; the Topic header replaces an undelivered older wake-up of the same chat.
 */
export function createWebPushProvider(options: WebPushOptions): PushProviderAdapter {
  return {
    name: 'web_push',
    async send(channel: PushChannel, wakeUp: WakeUp): Promise<AttemptOutcome> {
      if (channel.provider !== 'web_push') return { kind: 'rejected', reason: 'wrong_provider' };
      // A subscription whose keys cannot be used (not a P-256 point, not a 16-byte secret) never will be.
      const p256dh = Buffer.from(channel.p256dh, 'base64url');
      if (p256dh.length !== 65 || p256dh[0] !== 4 || Buffer.from(channel.auth, 'base64url').length !== 16) {
        return { kind: 'dead', reason: 'invalid_subscription' };
      }
      let details: ReturnType<typeof webpush.generateRequestDetails>;
      try {
        details = webpush.generateRequestDetails(
          { endpoint: channel.endpoint, keys: { p256dh: channel.p256dh, auth: channel.auth } },
          JSON.stringify({ type: 'wake', chatId: wakeUp.chatId, badge: wakeUp.badge }),
          {
            vapidDetails: options.vapid,
            TTL: options.ttlSeconds,
            contentEncoding: 'aes128gcm',
            urgency: 'high',
            topic: webPushTopic(wakeUp.collapseKey),
          },
        );
      } catch {
        // The subscription was checked above: what is left is ours (the VAPID keys), not the device's.
        return { kind: 'rejected', reason: 'request_not_built' };
      }
      let response: Response;
      try {
        response = await fetch(details.endpoint, {
          method: details.method,
          headers: details.headers as Record<string, string>,
          body: details.body ?? null,
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        return transportFailure(error);
      }
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { kind: 'sent' };
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      if (response.status === 404 || response.status === 410)
        return { kind: 'dead', reason: `gone_${response.status}` };
      if (response.status === 429) return { kind: 'retry', reason: 'too_many_requests', retryAfterMs };
      if (response.status >= 500) return { kind: 'retry', reason: `http_${response.status}`, retryAfterMs };
      return { kind: 'rejected', reason: `http_${response.status}` };
    },
    async close() {},
  };
}
