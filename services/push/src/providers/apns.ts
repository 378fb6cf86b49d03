import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import { importPKCS8, SignJWT, type CryptoKey } from 'jose';
import type { PushChannel } from '@chatmesh/store';
import {
  parseRetryAfter,
  transportFailure,
  type AttemptOutcome,
  type PushProviderAdapter,
  type WakeUp,
} from './types.js';

/** APNs wants a new provider token at most every 60 min and refuses new ones more often than every 20 min. */
export const APNS_TOKEN_REFRESH_MS = 50 * 60 * 1000;
export const APNS_TOKEN_MIN_AGE_MS = 20 * 60 * 1000;

export interface ApnsOptions {
  /** The .p8 key's PEM (PKCS#8, P-256). */
  readonly keyPem: string;
  readonly keyId: string;
  readonly teamId: string;
  readonly productionUrl: string;
  readonly sandboxUrl: string;
  readonly timeoutMs: number;
  readonly ttlSeconds: number;
  readonly clock?: () => number;
}

/** apns-collapse-id may hold 64 bytes: a longer chat id is hashed. */
export function apnsCollapseId(key: string): string {
  return Buffer.byteLength(key) <= 64 ? key : createHash('sha256').update(key).digest('base64url');
}

/**
 * APNs over HTTP/2 (node:http2, one session per environment, reopened when it closes) with token-based
 * authentication: an ES256 JWT signed with jose, reused for 50 minutes and never renewed sooner than 20 minutes
 * unless APNs says it expired. A background wake-up (content-available, priority 5, badge), collapsed per chat.
 */
export function createApnsProvider(options: ApnsOptions): PushProviderAdapter & { tokensSigned(): number } {
  const clock = options.clock ?? Date.now;
  let key: Promise<CryptoKey> | null = null;
  let token: { jwt: string; issuedAtMs: number } | null = null;
  let signed = 0;
  const sessions = new Map<string, http2.ClientHttp2Session>();

  async function providerToken(forceRenew = false): Promise<string> {
    const now = clock();
    const age = token ? now - token.issuedAtMs : Infinity;
    if (token && age < APNS_TOKEN_REFRESH_MS && !(forceRenew && age >= APNS_TOKEN_MIN_AGE_MS)) return token.jwt;
    key ??= importPKCS8(options.keyPem, 'ES256');
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: options.keyId })
      .setIssuer(options.teamId)
      .setIssuedAt(Math.floor(now / 1000))
      .sign(await key);
    token = { jwt, issuedAtMs: now };
    signed++;
    return jwt;
  }

  function session(baseUrl: string): http2.ClientHttp2Session {
    const open = sessions.get(baseUrl);
    if (open && !open.closed && !open.destroyed) return open;
    const created = http2.connect(baseUrl);
    created.on('error', () => sessions.delete(baseUrl));
    created.on('close', () => sessions.delete(baseUrl));
    created.on('goaway', () => sessions.delete(baseUrl));
    // An idle session must not keep the process alive.
    created.unref();
    sessions.set(baseUrl, created);
    return created;
  }

  function post(
    baseUrl: string,
    headers: http2.OutgoingHttpHeaders,
    body: string,
  ): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const stream = session(baseUrl).request(headers);
      stream.setTimeout(options.timeoutMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      let status = 0;
      let responseHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[':status']);
        responseHeaders = h;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () =>
        resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks).toString('utf8') }),
      );
      stream.on('error', reject);
      stream.on('close', () => {
        if (status === 0)
          reject(Object.assign(new Error('APNs stream closed without an answer'), { code: 'ETIMEDOUT' }));
      });
      stream.end(body);
    });
  }

  return {
    name: 'apns',
    tokensSigned: () => signed,
    async send(channel: PushChannel, wakeUp: WakeUp): Promise<AttemptOutcome> {
      if (channel.provider !== 'apns') return { kind: 'rejected', reason: 'wrong_provider' };
      const baseUrl = channel.environment === 'production' ? options.productionUrl : options.sandboxUrl;
      const payload = JSON.stringify({
        aps: { 'content-available': 1, badge: wakeUp.badge },
        chatId: wakeUp.chatId,
      });
      const attempt = async (forceRenew: boolean) =>
        post(
          baseUrl,
          {
            ':method': 'POST',
            ':path': `/3/device/${encodeURIComponent(channel.token)}`,
            authorization: `bearer ${await providerToken(forceRenew)}`,
            'apns-push-type': 'background',
            // Background pushes must use priority 5.
            'apns-priority': '5',
            'apns-topic': channel.topic,
            'apns-collapse-id': apnsCollapseId(wakeUp.collapseKey),
            'apns-expiration': String(Math.floor(clock() / 1000) + options.ttlSeconds),
            'content-type': 'application/json',
          },
          payload,
        );
      let response: Awaited<ReturnType<typeof post>>;
      try {
        response = await attempt(false);
        if (response.status === 403 && reasonOf(response.body) === 'ExpiredProviderToken')
          response = await attempt(true);
      } catch (error) {
        return transportFailure(error);
      }
      if (response.status === 200) return { kind: 'sent' };
      const reason = reasonOf(response.body);
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'] as string | undefined);
      // https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
      if (response.status === 410 || reason === 'Unregistered') return { kind: 'dead', reason: 'unregistered' };
      if (reason === 'BadDeviceToken' || reason === 'DeviceTokenNotForTopic')
        return {
          kind: 'dead',
          reason: reason === 'BadDeviceToken' ? 'bad_device_token' : 'device_token_not_for_topic',
        };
      if (response.status === 429) return { kind: 'retry', reason: 'too_many_requests', retryAfterMs };
      if (response.status >= 500) return { kind: 'retry', reason: `http_${response.status}`, retryAfterMs };
      if (reason === 'ExpiredProviderToken' || reason === 'TooManyProviderTokenUpdates')
        return { kind: 'retry', reason: snake(reason), retryAfterMs };
      return { kind: 'rejected', reason: reason ? snake(reason) : `http_${response.status}` };
    },
    async close() {
      for (const s of sessions.values()) s.close();
      sessions.clear();
    },
  };
}

function reasonOf(body: string): string | null {
  try {
    return (JSON.parse(body) as { reason?: string }).reason ?? null;
  } catch {
    return null;
  }
}

function snake(reason: string): string {
  return reason.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}
