import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getConfigSection, loadConfig } from '@chatmesh/config';
import { isChatmeshError } from '@chatmesh/errors';
import { loadCredentials } from '../credentials.js';
import { PUSH_CONFIG } from '../push-config.js';
import { makeApnsKey, makeServiceAccount, makeVapidKeys } from '../testing/index.js';

const settingsOf = (env: Record<string, string>) =>
  getConfigSection(loadConfig({ env, sections: { push: PUSH_CONFIG } }), 'push', PUSH_CONFIG);

const invalid = (pattern: RegExp) => (error: unknown) =>
  isChatmeshError(error) && error.code === 'CM_ERR_PUSH_CREDENTIALS_INVALID' && pattern.test(error.message);

test('no credentials: every provider is disabled with the reason', () => {
  const credentials = loadCredentials(settingsOf({}));
  assert.equal(credentials.fcm.enabled, false);
  assert.equal(credentials.apns.enabled, false);
  assert.equal(credentials.webPush.enabled, false);
  assert.match(!credentials.apns.enabled ? credentials.apns.reason : '', /CHATMESH_PUSH_APNS_KEY_FILE/);
});

test('credentials from files and variables are read and checked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'push-creds-'));
  const account = makeServiceAccount('p-1');
  const apns = makeApnsKey();
  const vapid = makeVapidKeys();
  writeFileSync(join(dir, 'sa.json'), JSON.stringify(account));
  writeFileSync(join(dir, 'AuthKey.p8'), apns.keyPem);
  writeFileSync(join(dir, 'vapid.json'), JSON.stringify(vapid));
  const credentials = loadCredentials(
    settingsOf({
      CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_FILE: join(dir, 'sa.json'),
      CHATMESH_PUSH_APNS_KEY_FILE: join(dir, 'AuthKey.p8'),
      CHATMESH_PUSH_APNS_KEY_ID: apns.keyId,
      CHATMESH_PUSH_APNS_TEAM_ID: apns.teamId,
      CHATMESH_PUSH_WEB_PUSH_VAPID_FILE: join(dir, 'vapid.json'),
    }),
  );
  assert.ok(credentials.fcm.enabled && credentials.fcm.value.projectId === 'p-1');
  assert.ok(credentials.apns.enabled && credentials.apns.value.teamId === apns.teamId);
  assert.ok(credentials.webPush.enabled && credentials.webPush.value.subject === vapid.subject);
  const fromEnv = loadCredentials(
    settingsOf({
      CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_JSON: JSON.stringify(account),
      CHATMESH_PUSH_FCM_PROJECT_ID: 'other',
      CHATMESH_PUSH_WEB_PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
      CHATMESH_PUSH_WEB_PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
      CHATMESH_PUSH_WEB_PUSH_VAPID_SUBJECT: 'https://chatmesh.example/ops',
    }),
  );
  assert.ok(fromEnv.fcm.enabled && fromEnv.fcm.value.projectId === 'other');
  assert.ok(fromEnv.webPush.enabled);
});

test('unusable or incomplete credentials fail the start with CM_ERR_PUSH_CREDENTIALS_INVALID', () => {
  const dir = mkdtempSync(join(tmpdir(), 'push-creds-'));
  writeFileSync(join(dir, 'broken.json'), '{"client_email":');
  const apns = makeApnsKey();
  assert.throws(
    () => loadCredentials(settingsOf({ CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_FILE: join(dir, 'missing.json') })),
    invalid(/cannot read/),
  );
  assert.throws(
    () => loadCredentials(settingsOf({ CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_FILE: join(dir, 'broken.json') })),
    invalid(/not JSON/),
  );
  assert.throws(
    () =>
      loadCredentials(
        settingsOf({
          CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_JSON: JSON.stringify({ client_email: 'a@b', private_key: 'nope' }),
        }),
      ),
    invalid(/private_key/),
  );
  assert.throws(
    () => loadCredentials(settingsOf({ CHATMESH_PUSH_APNS_KEY: apns.keyPem, CHATMESH_PUSH_APNS_TEAM_ID: apns.teamId })),
    invalid(/KEY_ID is required/),
  );
  assert.throws(
    () =>
      loadCredentials(
        settingsOf({
          CHATMESH_PUSH_APNS_KEY: makeServiceAccount().private_key,
          CHATMESH_PUSH_APNS_KEY_ID: apns.keyId,
          CHATMESH_PUSH_APNS_TEAM_ID: apns.teamId,
        }),
      ),
    invalid(/P-256/),
  );
  assert.throws(
    () => loadCredentials(settingsOf({ CHATMESH_PUSH_WEB_PUSH_VAPID_PUBLIC_KEY: makeVapidKeys().publicKey })),
    invalid(/private key/),
  );
});
