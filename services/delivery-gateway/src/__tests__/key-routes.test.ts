import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { randomName } from '@chatmesh/testing';

import { startHarness, type Harness } from './harness.js';
import { keysUpload, TestIdentity } from './signal-keys.js';

let h: Harness;
before(async () => {
  h = await startHarness({ withCore: false });
});
after(async () => {
  await h?.close();
});

interface Bundle {
  deviceId: string;
  identityKey: string;
  preKey: { keyId: number } | null;
  kyberPreKey: { keyId: number };
  kyberLastResort: boolean;
}

const call = async (method: string, path: string, token: string, body?: unknown) => {
  const res = await fetch(`${h.gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** A user with devices registered and a token per device. */
async function user(name: string, devices: string[]): Promise<{ id: string; tokens: Record<string, string> }> {
  const id = randomName(name);
  const tokens: Record<string, string> = {};
  for (const d of devices) {
    await h.store.devices.register(id, d, Date.now());
    tokens[d] = await h.token(id, d);
  }
  return { id, tokens };
}

async function shareChat(a: string, b: string): Promise<void> {
  const chatId = randomName('chat');
  for (const userId of [a, b]) {
    await h.store.directory.addMember({ chatId, userId, role: 'member', joinedSeq: 1, removedSeq: null, addedBy: a });
  }
}

test('an upload with a bad signature, a malformed key or no signed prekey is refused and stores nothing', async () => {
  const alice = await user('alice', ['phone']);
  const token = alice.tokens['phone']!;
  const identity = new TestIdentity();
  const forged = keysUpload(identity);
  forged['signedPreKey'] = {
    ...(forged['signedPreKey'] as object),
    signature: new TestIdentity().sign(Buffer.from('x')).toString('base64'),
  };
  const refused = await call('PUT', '/v1/keys', token, forged);
  assert.deepEqual([refused.status, refused.body['code']], [400, 'CM_ERR_E2E_BAD_SIGNATURE']);

  const forgedKyber = keysUpload(identity);
  const kyber = (forgedKyber['kyberPreKeys'] as { signature: string }[])[1]!;
  kyber.signature = (forgedKyber['kyberPreKeys'] as { signature: string }[])[0]!.signature;
  const refusedKyber = await call('PUT', '/v1/keys', token, forgedKyber);
  assert.deepEqual([refusedKyber.status, refusedKyber.body['code']], [400, 'CM_ERR_E2E_BAD_SIGNATURE']);

  const { signedPreKey: _s, ...withoutSigned } = keysUpload(identity);
  const incomplete = await call('PUT', '/v1/keys', token, withoutSigned);
  assert.deepEqual([incomplete.status, incomplete.body['code']], [400, 'CM_ERR_E2E_INVALID_KEYS']);

  const shortKey = keysUpload(identity);
  shortKey['identityKey'] = Buffer.alloc(32, 5).toString('base64');
  const short = await call('PUT', '/v1/keys', token, shortKey);
  assert.deepEqual([short.status, short.body['code']], [400, 'CM_ERR_E2E_INVALID_KEYS']);

  const state = await call('GET', '/v1/keys', token);
  assert.deepEqual(state.body, { registered: false, preKeys: 0, kyberPreKeys: 0, refillBelow: 10, refill: true });
  assert.equal(await h.store.keys.getDeviceKeys(alice.id, 'phone'), null);
});

test('an upload is counted; a refill adds prekeys under the same identity; the count asks for more below 10', async () => {
  const alice = await user('alice', ['phone']);
  const token = alice.tokens['phone']!;
  const identity = new TestIdentity();
  const first = await call('PUT', '/v1/keys', token, keysUpload(identity, { count: 6, kyberCount: 3 }));
  assert.equal(first.status, 200);
  assert.deepEqual(first.body, { registered: true, preKeys: 6, kyberPreKeys: 3, refillBelow: 10, refill: true });
  const {
    signedPreKey: _s,
    kyberLastResortPreKey: _k,
    ...refill
  } = keysUpload(identity, {
    from: 100,
    count: 10,
    kyberCount: 10,
  });
  const refilled = await call('PUT', '/v1/keys', token, refill);
  assert.deepEqual(refilled.body, { registered: true, preKeys: 16, kyberPreKeys: 13, refillBelow: 10, refill: false });
});

test('bundles: only for a user with a shared chat, one per current device, each fetch consuming one prekey', async () => {
  const alice = await user('alice', ['phone', 'laptop', 'old']);
  const bob = await user('bob', ['phone']);
  for (const device of ['phone', 'laptop', 'old']) {
    await call('PUT', '/v1/keys', alice.tokens[device]!, keysUpload(new TestIdentity(), { count: 2, kyberCount: 1 }));
  }
  await h.store.devices.remove(alice.id, 'old', Date.now());
  const bobToken = bob.tokens['phone']!;

  const stranger = await call('GET', `/v1/keys/${alice.id}`, bobToken);
  assert.deepEqual([stranger.status, stranger.body['code']], [403, 'CM_ERR_E2E_NO_SHARED_CHAT']);
  assert.equal((await h.store.keys.countPreKeys(alice.id, 'phone')).oneTime, 2, 'a refused fetch consumes nothing');

  await shareChat(alice.id, bob.id);
  const seen: number[] = [];
  for (let fetchNo = 0; fetchNo < 3; fetchNo++) {
    const answer = await call('GET', `/v1/keys/${alice.id}`, bobToken);
    assert.equal(answer.status, 200);
    const bundles = answer.body['devices'] as Bundle[];
    assert.deepEqual(bundles.map((b) => b.deviceId).sort(), ['laptop', 'phone'], 'the removed device has no bundle');
    const phone = bundles.find((b) => b.deviceId === 'phone')!;
    if (fetchNo < 2) {
      assert.ok(phone.preKey !== null);
      seen.push(phone.preKey.keyId);
    } else {
      assert.equal(phone.preKey, null, 'no one-time prekey left: the bundle goes without');
    }
    assert.equal(phone.kyberLastResort, fetchNo >= 1, 'the last-resort Kyber key once the one-time ones ran out');
    if (fetchNo >= 1) assert.equal(phone.kyberPreKey.keyId, 1_000_000);
  }
  assert.deepEqual(seen.sort(), [1, 2]);
  const one = await call('GET', `/v1/keys/${alice.id}?deviceId=laptop`, bobToken);
  assert.deepEqual(
    (one.body['devices'] as Bundle[]).map((b) => b.deviceId),
    ['laptop'],
  );
  const none = await call('GET', `/v1/keys/${bob.id}`, alice.tokens['phone']!);
  assert.deepEqual([none.status, none.body['code']], [404, 'CM_ERR_E2E_NO_KEYS']);
});

test('concurrent bundle fetches never share a one-time prekey', async () => {
  const alice = await user('alice', ['phone']);
  const fetchers = await Promise.all(Array.from({ length: 6 }, (_, i) => user(`f${i}`, ['phone'])));
  await call('PUT', '/v1/keys', alice.tokens['phone']!, keysUpload(new TestIdentity(), { count: 8 }));
  for (const f of fetchers) await shareChat(alice.id, f.id);
  const answers = await Promise.all(
    fetchers.flatMap((f) => [0, 1].map(() => call('GET', `/v1/keys/${alice.id}`, f.tokens['phone']!))),
  );
  const keyIds = answers
    .map((a) => (a.body['devices'] as Bundle[])[0]!.preKey?.keyId)
    .filter((id): id is number => id !== undefined);
  assert.equal(keyIds.length, 8);
  assert.equal(new Set(keyIds).size, 8);
});

test("a new identity key replaces the device's prekeys; a bundle then carries the new identity", async () => {
  const alice = await user('alice', ['phone']);
  const bob = await user('bob', ['phone']);
  await shareChat(alice.id, bob.id);
  await call('PUT', '/v1/keys', alice.tokens['phone']!, keysUpload(new TestIdentity(), { count: 3 }));
  const reinstalled = new TestIdentity();
  const answer = await call('PUT', '/v1/keys', alice.tokens['phone']!, keysUpload(reinstalled, { from: 50, count: 1 }));
  assert.equal(answer.body['preKeys'], 1);
  const bundle = ((await call('GET', `/v1/keys/${alice.id}`, bob.tokens['phone']!)).body['devices'] as Bundle[])[0]!;
  assert.equal(bundle.identityKey, reinstalled.publicKey.toString('base64'));
  assert.equal(bundle.preKey?.keyId, 50);
});
