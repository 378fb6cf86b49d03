import { JWT } from 'google-auth-library';
import type { PushChannel } from '@chatmesh/store';
import {
  parseRetryAfter,
  transportFailure,
  type AttemptOutcome,
  type PushProviderAdapter,
  type WakeUp,
} from './types.js';

/** The scope FCM HTTP v1 needs. */
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** Where google-auth-library sends the assertion; rewritten to the configured token endpoint. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** The fields of a service account JSON key FCM needs. */
export interface ServiceAccount {
  readonly project_id: string;
  readonly private_key: string;
  readonly private_key_id?: string;
  readonly client_email: string;
}

export interface FcmOptions {
  readonly serviceAccount: ServiceAccount;
  readonly projectId: string;
  readonly baseUrl: string;
  readonly tokenUrl: string;
  readonly timeoutMs: number;
  readonly ttlSeconds: number;
}

/**
 * FCM HTTP v1 (`POST /v1/projects/{project}/messages:send`). The access token comes from google-auth-library's JWT
 * client (a signed RS256 assertion exchanged at the token endpoint), which caches it and fetches a new one five
 * minutes before it expires; its transport is pointed at the configured token endpoint so an emulator or proxy
 * works with the same settings. A data-only message (no notification: no content), collapsed per chat.
 */
export function createFcmProvider(options: FcmOptions): PushProviderAdapter & { accessTokenFetches(): number } {
  const tokenUrl = options.tokenUrl;
  let fetches = 0;
  const jwt = new JWT({
    email: options.serviceAccount.client_email,
    key: options.serviceAccount.private_key,
    ...(options.serviceAccount.private_key_id ? { keyId: options.serviceAccount.private_key_id } : {}),
    scopes: [FCM_SCOPE],
  });
  // The client's own transport also carries its token requests: point those at the configured endpoint.
  jwt.transporter.interceptors.request.add({
    resolved: async (config) => {
      const url = config.url instanceof URL ? config.url.href : String(config.url);
      if (url === GOOGLE_TOKEN_URL) {
        fetches++;
        return { ...config, url: new URL(tokenUrl) };
      }
      return config;
    },
  });
  const sendUrl = `${options.baseUrl.replace(/\/$/, '')}/v1/projects/${encodeURIComponent(options.projectId)}/messages:send`;

  return {
    name: 'fcm',
    accessTokenFetches: () => fetches,
    async send(channel: PushChannel, wakeUp: WakeUp): Promise<AttemptOutcome> {
      if (channel.provider !== 'fcm') return { kind: 'rejected', reason: 'wrong_provider' };
      let accessToken: string;
      try {
        const token = await jwt.getAccessToken();
        if (!token.token) return { kind: 'rejected', reason: 'no_access_token' };
        accessToken = token.token;
      } catch (error) {
        const status = (error as { response?: { status?: number } }).response?.status;
        if (status !== undefined && status >= 400 && status < 500 && status !== 429)
          return { kind: 'rejected', reason: 'oauth_refused' };
        return {
          ...transportFailure(error),
          reason: status ? `oauth_${status}` : 'oauth_unreachable',
        } as AttemptOutcome;
      }
      const body = {
        message: {
          token: channel.token,
          data: { type: 'wake', chatId: wakeUp.chatId ?? '', badge: String(wakeUp.badge) },
          android: { collapse_key: wakeUp.collapseKey, priority: 'HIGH', ttl: `${options.ttlSeconds}s` },
        },
      };
      let response: Response;
      try {
        response = await fetch(sendUrl, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        return transportFailure(error);
      }
      const text = await response.text().catch(() => '');
      if (response.ok) return { kind: 'sent' };
      const errorCode = fcmErrorCode(text);
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      // https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode
      if (errorCode === 'UNREGISTERED' || response.status === 404) return { kind: 'dead', reason: 'unregistered' };
      if (errorCode === 'INVALID_ARGUMENT' && /registration token/i.test(text))
        return { kind: 'dead', reason: 'invalid_token' };
      if (response.status === 429 || errorCode === 'QUOTA_EXCEEDED')
        return { kind: 'retry', reason: 'quota_exceeded', retryAfterMs };
      if (response.status >= 500) return { kind: 'retry', reason: `http_${response.status}`, retryAfterMs };
      if (response.status === 401) {
        // A revoked or expired access token: the state the JWT client starts in (placeholder refresh token, expiry in
        // the past) makes the next attempt fetch a new one.
        jwt.credentials = { refresh_token: 'jwt-placeholder', expiry_date: 1 };
        return { kind: 'retry', reason: 'unauthenticated', retryAfterMs: null };
      }
      return { kind: 'rejected', reason: (errorCode ?? `http_${response.status}`).toLowerCase() };
    },
    async close() {},
  };
}

/** The FcmError code of an error answer (details[].errorCode), else its status. */
function fcmErrorCode(text: string): string | null {
  try {
    const parsed = JSON.parse(text) as {
      error?: { status?: string; details?: Array<{ '@type'?: string; errorCode?: string }> };
    };
    const detail = parsed.error?.details?.find((d) => d.errorCode !== undefined);
    return detail?.errorCode ?? parsed.error?.status ?? null;
  } catch {
    return null;
  }
}
