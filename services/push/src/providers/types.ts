import type { PushChannel, PushChannelProvider } from '@chatmesh/store';

/** What a wake-up says: never any message content, only which chat has news and the badge. */
export interface WakeUp {
  readonly userId: string;
  readonly deviceId: string;
  /** The chat with news; null when the request named none. */
  readonly chatId: string | null;
  /** Unread messages across the user's chats. */
  readonly badge: number;
  /** Replaces an older undelivered wake-up of the same chat on the device (per chat). */
  readonly collapseKey: string;
  /** The request's idempotency key. */
  readonly requestId: string;
}

/**
 * One attempt's outcome, classified by the provider from its documented answers:
 * - `sent`: accepted;
 * - `dead`: the token or subscription is gone for good (remove the channel);
 * - `retry`: throttled or unavailable (429, 5xx, a timeout, a refused connection), maybe after `retryAfterMs`;
 * - `rejected`: refused for another reason that a retry will not fix (credentials, a malformed request).
 */
export type AttemptOutcome =
  | { readonly kind: 'sent' }
  | { readonly kind: 'dead'; readonly reason: string }
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs: number | null }
  | { readonly kind: 'rejected'; readonly reason: string };

/** A provider adapter: one attempt to deliver one wake-up to one channel. */
export interface PushProviderAdapter {
  readonly name: PushChannelProvider;
  send(channel: PushChannel, wakeUp: WakeUp): Promise<AttemptOutcome>;
  /** Closes connections (APNs keeps an HTTP/2 session). */
  close(): Promise<void>;
}

/**
 * Parses a Retry-After header: delta-seconds or an HTTP date (RFC 9110, 10.2.3); null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Classifies a transport failure (timeout, refused connection, reset) as retriable. */
export function transportFailure(error: unknown): AttemptOutcome {
  const code = (error as { code?: unknown; name?: unknown } | null)?.code ?? (error as { name?: unknown })?.name;
  return {
    kind: 'retry',
    reason: typeof code === 'string' ? `transport_${code.toLowerCase()}` : 'transport',
    retryAfterMs: null,
  };
}
