import { ClientError } from './errors.js';
import type { CompiledClientOptions } from './client-options.js';

/** The user's privacy settings (`GET /v1/settings`). */
export interface UserSettings {
  /** False: no READ status goes to anyone for this user's reads, and they see none for their messages. */
  readonly readReceipts: boolean;
  /** False: everybody sees this user offline with no last seen. */
  readonly presenceVisible: boolean;
}

/** One of the user's devices (`GET /v1/devices`). */
export interface DeviceInfo {
  readonly deviceId: string;
  readonly registeredAtMs: number;
  readonly online: boolean;
  /** The device this client runs as. */
  readonly current: boolean;
}

/** A change the server accepted (HTTP 202) and applies shortly after. */
export interface AcceptedChange {
  readonly requestId: string;
}

/**
 * Where this device's wake-up pushes go (`PUT /v1/push/channel`): an FCM registration token, an APNs device token
 * (hex) with the app's bundle id and environment, a browser's Web Push subscription (`PushSubscription.toJSON()`),
 * or the local push inbox of embedded mode. Registering again replaces the device's channel (a refreshed token).
 */
export type PushChannelRegistration =
  | { readonly provider: 'fcm'; readonly token: string }
  | {
      readonly provider: 'apns';
      readonly token: string;
      readonly topic: string;
      readonly environment: 'sandbox' | 'production';
    }
  | {
      readonly provider: 'web_push';
      readonly subscription: {
        readonly endpoint: string;
        readonly expirationTime?: number | null;
        readonly keys: { readonly p256dh: string; readonly auth: string };
      };
    }
  | { readonly provider: 'inbox' };

/** One wake-up the local push inbox recorded (`GET /v1/push/inbox`): no content, the chat and the badge. */
export interface PushWakeUp {
  readonly deviceId: string;
  readonly chatId: string | null;
  readonly badge: number;
  readonly atMs: number;
  readonly requestId: string;
}

/**
 * The gateway's HTTP API as the SDK uses it (settings, devices, push channel, history pages): each call takes a
 * bearer token from the token provider (`reason: 'api'`).
 */
export class ClientHttpApi {
  constructor(
    private readonly options: Pick<CompiledClientOptions, 'fetch' | 'tokenProvider' | 'deviceId' | 'httpUrl'>,
  ) {}

  getSettings(): Promise<UserSettings> {
    return this.request<UserSettings>('GET', '/v1/settings');
  }

  updateSettings(changes: Partial<UserSettings>): Promise<AcceptedChange> {
    return this.request<AcceptedChange>('PUT', '/v1/settings', changes);
  }

  async listDevices(): Promise<DeviceInfo[]> {
    return (await this.request<{ devices: DeviceInfo[] }>('GET', '/v1/devices')).devices;
  }

  removeDevice(deviceId: string): Promise<AcceptedChange> {
    return this.request<AcceptedChange>('DELETE', `/v1/devices/${encodeURIComponent(deviceId)}`);
  }

  registerPushChannel(channel: PushChannelRegistration): Promise<AcceptedChange> {
    return this.request<AcceptedChange>('PUT', '/v1/push/channel', channel);
  }

  unregisterPushChannel(): Promise<AcceptedChange> {
    return this.request<AcceptedChange>('DELETE', '/v1/push/channel');
  }

  async listPushWakeUps(limit = 50): Promise<PushWakeUp[]> {
    return (await this.request<{ wakeUps: PushWakeUp[] }>('GET', `/v1/push/inbox?limit=${limit}`)).wakeUps;
  }

  /**
   * One request; the JSON answer.
   * @throws ClientError `CM_ERR_CLIENT_HTTP_FAILED` (the server's code as `serverCode`, the `status`),
   *   `CM_ERR_CLIENT_TOKEN_FAILED`.
   */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const fetchImpl = this.options.fetch;
    const fail = (message: string, context: Record<string, unknown> = {}, cause?: unknown): ClientError =>
      new ClientError('CM_ERR_CLIENT_HTTP_FAILED', `${method} ${path}: ${message}`, {
        context: { path, ...context },
        ...(cause === undefined ? {} : { cause }),
      });
    if (fetchImpl === undefined) throw fail('no fetch implementation (pass the `fetch` option)');
    let token: string;
    try {
      token = await this.options.tokenProvider({ reason: 'api', deviceId: this.options.deviceId });
    } catch (cause) {
      throw new ClientError('CM_ERR_CLIENT_TOKEN_FAILED', undefined, { cause });
    }
    let response: Response;
    try {
      response = await fetchImpl(`${this.options.httpUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (cause) {
      throw fail('the request failed', {}, cause);
    }
    const parsed = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const code = typeof parsed['code'] === 'string' ? parsed['code'] : undefined;
      throw fail(`HTTP ${response.status} ${code ?? ''}: ${String(parsed['message'] ?? '')}`, {
        status: response.status,
        ...(code === undefined ? {} : { serverCode: code }),
      });
    }
    return parsed as T;
  }
}
