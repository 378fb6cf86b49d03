import { ID_PATTERN } from '@chatmesh/protocol';
import type { ChatStore, DeviceKeysRecord, PreKeyRecord, SignedPreKeyRecord } from '@chatmesh/store';
import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';

import type { RouteHelpers } from './attachment-routes.js';
import { sendError, sendJson, type PendingResponse } from './internal/http.js';
import type { VerifiedToken } from './token-verifier.js';
import { DJB_KEY_TYPE, SIGNAL_PUBLIC_KEY_BYTES, verifyXEdDsa } from './xeddsa.js';

/** Prekeys one upload may carry, of each kind (Signal uploads 100 at a time). */
export const MAX_PREKEYS_PER_UPLOAD = 100;
/** Below this many one-time prekeys (of either kind) a device is asked to upload more. */
export const PREKEY_REFILL_THRESHOLD = 10;
/** libsignal's type byte of a serialized Kyber-1024 public key, and that key's length with it. */
const KYBER_1024_KEY_TYPE = 0x08;
const KYBER_1024_PUBLIC_KEY_BYTES = 1569;
const SIGNATURE_BYTES = 64;
/** 100 Kyber prekeys in base64 are about 215 KB; the rest is small. */
const MAX_KEYS_BODY_BYTES = 512 * 1024;

/** What the key routes need. */
export interface KeyRoutesDeps {
  readonly store: ChatStore;
  /**
   * Called after a device's identity key was replaced (not on its first upload): the safety number of every
   * conversation with the user changed. Failures are logged by the caller, the upload stands.
   */
  readonly onIdentityChanged?: (change: IdentityChange) => Promise<void>;
}

/** A device's new identity key, for the user's contacts. */
export interface IdentityChange {
  readonly userId: string;
  readonly deviceId: string;
  readonly identityKey: Buffer;
  readonly atMs: number;
}

const keyId = z.number().int().min(0).max(0xffffff);
const b64 = z.base64().max(4096);
const preKeySchema = z.strictObject({ keyId, publicKey: b64 });
const signedPreKeySchema = z.strictObject({ keyId, publicKey: b64, signature: b64 });

/**
 * `PUT /v1/keys`: the caller's device keys. The identity key and registration id always; the signed and Kyber
 * last-resort prekeys on the first upload and whenever the identity changes (optional otherwise: a rotation);
 * one-time prekeys of either kind to refill.
 */
export const keysUploadSchema = z.strictObject({
  identityKey: b64,
  registrationId: z.number().int().min(1).max(16380),
  signedPreKey: signedPreKeySchema.optional(),
  kyberLastResortPreKey: signedPreKeySchema.optional(),
  preKeys: z.array(preKeySchema).max(MAX_PREKEYS_PER_UPLOAD).optional(),
  kyberPreKeys: z.array(signedPreKeySchema).max(MAX_PREKEYS_PER_UPLOAD).optional(),
});
type KeysUpload = z.infer<typeof keysUploadSchema>;

/** A refusal of an upload: nothing is stored. */
class KeyUploadRefused extends Error {
  constructor(
    readonly code: 'CM_ERR_E2E_INVALID_KEYS' | 'CM_ERR_E2E_BAD_SIGNATURE',
    message: string,
  ) {
    super(message);
  }
}

const bytes = (value: string): Buffer => Buffer.from(value, 'base64');

function curveKey(field: string, value: string): Buffer {
  const key = bytes(value);
  if (key.length !== SIGNAL_PUBLIC_KEY_BYTES || key[0] !== DJB_KEY_TYPE) {
    throw new KeyUploadRefused('CM_ERR_E2E_INVALID_KEYS', `${field} is not a 33-byte Curve25519 key (0x05 first)`);
  }
  return key;
}

function kyberKey(field: string, value: string): Buffer {
  const key = bytes(value);
  if (key.length !== KYBER_1024_PUBLIC_KEY_BYTES || key[0] !== KYBER_1024_KEY_TYPE) {
    throw new KeyUploadRefused('CM_ERR_E2E_INVALID_KEYS', `${field} is not a 1569-byte Kyber-1024 key (0x08 first)`);
  }
  return key;
}

function signed(
  field: string,
  identityKey: Buffer,
  key: { keyId: number; publicKey: string; signature: string },
  parse: (field: string, value: string) => Buffer,
): SignedPreKeyRecord {
  const publicKey = parse(`${field}.publicKey`, key.publicKey);
  const signature = bytes(key.signature);
  if (signature.length !== SIGNATURE_BYTES) {
    throw new KeyUploadRefused('CM_ERR_E2E_INVALID_KEYS', `${field}.signature is not 64 bytes`);
  }
  if (!verifyXEdDsa(identityKey, publicKey, signature)) {
    throw new KeyUploadRefused('CM_ERR_E2E_BAD_SIGNATURE', `${field}: the signature does not verify with identityKey`);
  }
  return { keyId: key.keyId, publicKey, signature };
}

/** Everything an upload would store, checked (shapes, then every signature) before anything is written. */
function checkUpload(
  body: KeysUpload,
  stored: DeviceKeysRecord | null,
): {
  identityKey: Buffer;
  signedPreKey: SignedPreKeyRecord | null;
  kyberLastResort: SignedPreKeyRecord | null;
  preKeys: PreKeyRecord[];
  kyberPreKeys: SignedPreKeyRecord[];
} {
  const identityKey = curveKey('identityKey', body.identityKey);
  const newIdentity = stored === null || !stored.identityKey.equals(identityKey);
  if (newIdentity && (body.signedPreKey === undefined || body.kyberLastResortPreKey === undefined)) {
    throw new KeyUploadRefused(
      'CM_ERR_E2E_INVALID_KEYS',
      'a new identity key comes with its signedPreKey and kyberLastResortPreKey',
    );
  }
  const unique = (field: string, ids: number[]): void => {
    if (new Set(ids).size !== ids.length) {
      throw new KeyUploadRefused('CM_ERR_E2E_INVALID_KEYS', `${field}: a keyId appears twice`);
    }
  };
  unique(
    'preKeys',
    (body.preKeys ?? []).map((k) => k.keyId),
  );
  unique(
    'kyberPreKeys',
    (body.kyberPreKeys ?? []).map((k) => k.keyId),
  );
  return {
    identityKey,
    signedPreKey:
      body.signedPreKey === undefined ? null : signed('signedPreKey', identityKey, body.signedPreKey, curveKey),
    kyberLastResort:
      body.kyberLastResortPreKey === undefined
        ? null
        : signed('kyberLastResortPreKey', identityKey, body.kyberLastResortPreKey, kyberKey),
    preKeys: (body.preKeys ?? []).map((k, i) => ({
      keyId: k.keyId,
      publicKey: curveKey(`preKeys.${i}.publicKey`, k.publicKey),
    })),
    kyberPreKeys: (body.kyberPreKeys ?? []).map((k, i) => signed(`kyberPreKeys.${i}`, identityKey, k, kyberKey)),
  };
}

/** The devices of a user that may receive messages: listed and not removed. */
export async function currentDeviceIds(store: ChatStore, userId: string): Promise<Set<string>> {
  return new Set((await store.devices.list(userId)).filter((d) => d.removedAtMs === null).map((d) => d.deviceId));
}

/** Whether the two users are members of at least one common chat (a user shares everything with themself). */
export async function shareAChat(store: ChatStore, a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  const [mine, theirs] = await Promise.all([store.directory.chatsOfUser(a), store.directory.chatsOfUser(b)]);
  const theirIds = new Set(theirs.map((m) => m.chatId));
  return mine.some((m) => theirIds.has(m.chatId));
}

const b64Of = (buffer: Buffer): string => buffer.toString('base64');
const signedWire = (key: SignedPreKeyRecord) => ({
  keyId: key.keyId,
  publicKey: b64Of(key.publicKey),
  signature: b64Of(key.signature),
});

/**
 * Registers the key directory's routes: `PUT /v1/keys` (upload or rotate the caller's device keys, signatures
 * verified before anything is stored), `GET /v1/keys` (the caller's device's prekey counts and whether to refill)
 * and `GET /v1/keys/:userId` (a bundle per current device of the user, each consuming one one-time prekey of
 * each kind; `?deviceId=` for one device). See docs/e2e.md.
 */
export function registerKeyRoutes(app: TemplatedApp, deps: KeyRoutesDeps, helpers: RouteHelpers): void {
  const { store } = deps;
  const { authed, jsonBody } = helpers;

  const status = async (state: PendingResponse, caller: VerifiedToken, code: 200 = 200): Promise<void> => {
    const counts = await store.keys.countPreKeys(caller.userId, caller.deviceId);
    const registered = (await store.keys.getDeviceKeys(caller.userId, caller.deviceId)) !== null;
    sendJson(state, code, {
      registered,
      preKeys: counts.oneTime,
      kyberPreKeys: counts.kyber,
      refillBelow: PREKEY_REFILL_THRESHOLD,
      refill: counts.oneTime < PREKEY_REFILL_THRESHOLD || counts.kyber < PREKEY_REFILL_THRESHOLD,
    });
  };

  app.put(
    '/v1/keys',
    authed(
      async (state, caller, info) => {
        const body = await jsonBody(state, info, keysUploadSchema);
        if (!body.ok) return;
        const stored = await store.keys.getDeviceKeys(caller.userId, caller.deviceId);
        let checked;
        try {
          checked = checkUpload(body.value, stored);
        } catch (error) {
          if (!(error instanceof KeyUploadRefused)) throw error;
          return sendError(state, 400, { code: error.code, message: error.message });
        }
        const atMs = Date.now();
        const identityChanged = stored !== null && !stored.identityKey.equals(checked.identityKey);
        // The long-lived keys first: on a new identity they drop the old one-time prekeys, which the new ones follow.
        await store.keys.putDeviceKeys(caller.userId, {
          deviceId: caller.deviceId,
          identityKey: checked.identityKey,
          registrationId: body.value.registrationId,
          signedPreKey: checked.signedPreKey ?? stored!.signedPreKey,
          kyberLastResort: checked.kyberLastResort ?? stored!.kyberLastResort,
          updatedAtMs: atMs,
        });
        await store.keys.addOneTimePreKeys(caller.userId, caller.deviceId, checked.preKeys);
        await store.keys.addKyberPreKeys(caller.userId, caller.deviceId, checked.kyberPreKeys);
        if (identityChanged && deps.onIdentityChanged !== undefined) {
          await deps.onIdentityChanged({
            userId: caller.userId,
            deviceId: caller.deviceId,
            identityKey: checked.identityKey,
            atMs,
          });
        }
        await status(state, caller);
      },
      { bodyBytes: MAX_KEYS_BODY_BYTES },
    ),
  );

  app.get(
    '/v1/keys',
    authed(async (state, caller) => status(state, caller)),
  );

  app.get(
    '/v1/keys/:userId',
    authed(async (state, caller, info) => {
      let userId: string;
      try {
        userId = decodeURIComponent(info.param0);
      } catch {
        userId = '';
      }
      const onlyDevice = info.query.get('deviceId');
      if (!ID_PATTERN.test(userId) || (onlyDevice !== null && !ID_PATTERN.test(onlyDevice))) {
        return sendError(state, 400, {
          code: 'CM_ERR_GATEWAY_BAD_REQUEST',
          message: 'the user or device id is not an id',
        });
      }
      // Keys are handed to people the user already talks to: a stranger cannot drain one-time prekeys.
      if (!(await shareAChat(store, caller.userId, userId))) {
        return sendError(state, 403, {
          code: 'CM_ERR_E2E_NO_SHARED_CHAT',
          message: `no chat is shared with ${userId}`,
        });
      }
      const current = await currentDeviceIds(store, userId);
      const devices = (await store.keys.listDeviceKeys(userId)).filter(
        (d) =>
          current.has(d.deviceId) &&
          (onlyDevice === null || d.deviceId === onlyDevice) &&
          // A device never needs a bundle of itself.
          !(userId === caller.userId && d.deviceId === caller.deviceId),
      );
      if (devices.length === 0) {
        return sendError(state, 404, { code: 'CM_ERR_E2E_NO_KEYS', message: `no device of ${userId} has keys` });
      }
      const bundles = await Promise.all(
        devices.map(async (d) => {
          const [preKey, kyberPreKey] = await Promise.all([
            store.keys.claimOneTimePreKey(userId, d.deviceId),
            store.keys.claimKyberPreKey(userId, d.deviceId),
          ]);
          return {
            deviceId: d.deviceId,
            registrationId: d.registrationId,
            identityKey: b64Of(d.identityKey),
            signedPreKey: signedWire(d.signedPreKey),
            preKey: preKey === null ? null : { keyId: preKey.keyId, publicKey: b64Of(preKey.publicKey) },
            kyberPreKey: signedWire(kyberPreKey ?? d.kyberLastResort),
            kyberLastResort: kyberPreKey === null,
          };
        }),
      );
      sendJson(state, 200, { userId, devices: bundles });
    }),
  );
}
