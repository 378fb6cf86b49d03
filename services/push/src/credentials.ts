import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ChatmeshError } from '@chatmesh/errors';
import type { SectionValues } from '@chatmesh/config';
import type { PUSH_CONFIG } from './push-config.js';
import type { ServiceAccount } from './providers/fcm.js';
import type { VapidKeys } from './providers/web-push.js';

export type PushSettings = SectionValues<typeof PUSH_CONFIG>;

/** A provider's credentials, or why it is disabled. */
export type Credentials<T> =
  { readonly enabled: true; readonly value: T } | { readonly enabled: false; readonly reason: string };

export interface ProviderCredentials {
  readonly fcm: Credentials<{ serviceAccount: ServiceAccount; projectId: string }>;
  readonly apns: Credentials<{ keyPem: string; keyId: string; teamId: string }>;
  readonly webPush: Credentials<VapidKeys>;
}

function invalid(provider: string, message: string, cause?: unknown): ChatmeshError {
  return new ChatmeshError('CM_ERR_PUSH_CREDENTIALS_INVALID', `${provider}: ${message}`, {
    context: { provider },
    ...(cause === undefined ? {} : { cause }),
  });
}

function readText(provider: string, variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw invalid(
      provider,
      `cannot read ${variable}=${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      error,
    );
  }
}

function exactlyOne(
  provider: string,
  fileVar: string,
  file: string | undefined,
  valueVar: string,
  value: string | undefined,
) {
  if (file !== undefined && value !== undefined) throw invalid(provider, `set ${fileVar} or ${valueVar}, not both`);
}

/**
 * Reads and checks every provider's credentials (files or variables) once, at start.
 * @throws ChatmeshError CM_ERR_PUSH_CREDENTIALS_INVALID naming the provider, the variable and what is wrong, when a
 * provider's credentials are given but unusable or incomplete; a provider given none is disabled, not an error.
 */
export function loadCredentials(settings: PushSettings): ProviderCredentials {
  return { fcm: loadFcm(settings), apns: loadApns(settings), webPush: loadWebPush(settings) };
}

function loadFcm(s: PushSettings): ProviderCredentials['fcm'] {
  exactlyOne(
    'fcm',
    'CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_FILE',
    s.fcmServiceAccountFile,
    'CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_JSON',
    s.fcmServiceAccountJson,
  );
  const raw =
    s.fcmServiceAccountFile !== undefined
      ? readText('fcm', 'CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_FILE', s.fcmServiceAccountFile)
      : s.fcmServiceAccountJson;
  if (raw === undefined) {
    return { enabled: false, reason: 'no service account (CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_FILE or _JSON)' };
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(raw) as Record<string, unknown>;
  } catch (error) {
    throw invalid('fcm', 'the service account is not JSON', error);
  }
  for (const field of ['private_key', 'client_email'] as const) {
    if (typeof parsed[field] !== 'string' || parsed[field] === '')
      throw invalid('fcm', `the service account has no ${field}`);
  }
  try {
    createPrivateKey(parsed['private_key'] as string);
  } catch (error) {
    throw invalid('fcm', "the service account's private_key is not a PEM private key", error);
  }
  const projectId = s.fcmProjectId ?? (typeof parsed['project_id'] === 'string' ? parsed['project_id'] : undefined);
  if (!projectId)
    throw invalid('fcm', 'no project: the service account has no project_id and CHATMESH_PUSH_FCM_PROJECT_ID is unset');
  return {
    enabled: true,
    value: {
      serviceAccount: {
        project_id: projectId,
        private_key: parsed['private_key'] as string,
        client_email: parsed['client_email'] as string,
        ...(typeof parsed['private_key_id'] === 'string' ? { private_key_id: parsed['private_key_id'] } : {}),
      },
      projectId,
    },
  };
}

function loadApns(s: PushSettings): ProviderCredentials['apns'] {
  exactlyOne('apns', 'CHATMESH_PUSH_APNS_KEY_FILE', s.apnsKeyFile, 'CHATMESH_PUSH_APNS_KEY', s.apnsKey);
  const pem = s.apnsKeyFile !== undefined ? readText('apns', 'CHATMESH_PUSH_APNS_KEY_FILE', s.apnsKeyFile) : s.apnsKey;
  if (pem === undefined) {
    if (s.apnsKeyId !== undefined || s.apnsTeamId !== undefined)
      throw invalid(
        'apns',
        'CHATMESH_PUSH_APNS_KEY_ID / _TEAM_ID are set but no key (CHATMESH_PUSH_APNS_KEY_FILE or _KEY)',
      );
    return { enabled: false, reason: 'no auth key (CHATMESH_PUSH_APNS_KEY_FILE or _KEY)' };
  }
  if (s.apnsKeyId === undefined) throw invalid('apns', 'CHATMESH_PUSH_APNS_KEY_ID is required with a key');
  if (s.apnsTeamId === undefined) throw invalid('apns', 'CHATMESH_PUSH_APNS_TEAM_ID is required with a key');
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw invalid('apns', 'the auth key is not a PEM private key', error);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw invalid('apns', 'the auth key must be a P-256 (ES256) key, as Apple issues .p8 keys');
  }
  return { enabled: true, value: { keyPem: pem, keyId: s.apnsKeyId, teamId: s.apnsTeamId } };
}

function loadWebPush(s: PushSettings): ProviderCredentials['webPush'] {
  let keys: Partial<VapidKeys> = {};
  if (s.webPushVapidFile !== undefined) {
    if (s.webPushVapidPublicKey !== undefined || s.webPushVapidPrivateKey !== undefined)
      throw invalid('web_push', 'set CHATMESH_PUSH_WEB_PUSH_VAPID_FILE or the VAPID key variables, not both');
    try {
      keys = JSON.parse(
        readText('web_push', 'CHATMESH_PUSH_WEB_PUSH_VAPID_FILE', s.webPushVapidFile),
      ) as Partial<VapidKeys>;
    } catch (error) {
      if (error instanceof ChatmeshError) throw error;
      throw invalid('web_push', 'the VAPID file is not JSON', error);
    }
  } else {
    keys = {
      ...(s.webPushVapidPublicKey !== undefined ? { publicKey: s.webPushVapidPublicKey } : {}),
      ...(s.webPushVapidPrivateKey !== undefined ? { privateKey: s.webPushVapidPrivateKey } : {}),
    };
  }
  const subject = s.webPushVapidSubject ?? keys.subject;
  if (keys.publicKey === undefined && keys.privateKey === undefined) {
    return {
      enabled: false,
      reason: 'no VAPID keys (CHATMESH_PUSH_WEB_PUSH_VAPID_FILE or _PUBLIC_KEY / _PRIVATE_KEY)',
    };
  }
  if (typeof keys.publicKey !== 'string' || Buffer.from(keys.publicKey, 'base64url').length !== 65)
    throw invalid('web_push', 'the VAPID public key must be 65 bytes, base64url (an uncompressed P-256 point)');
  if (typeof keys.privateKey !== 'string' || Buffer.from(keys.privateKey, 'base64url').length !== 32)
    throw invalid('web_push', 'the VAPID private key must be 32 bytes, base64url');
  if (typeof subject !== 'string' || !/^(mailto:|https:\/\/)/.test(subject))
    throw invalid(
      'web_push',
      'a VAPID subject (mailto: or https:) is required (CHATMESH_PUSH_WEB_PUSH_VAPID_SUBJECT or "subject" in the file)',
    );
  return { enabled: true, value: { publicKey: keys.publicKey, privateKey: keys.privateKey, subject } };
}
