import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomName } from '@chatmesh/testing';
import { SignJWT } from 'jose';
import { AuthError, createTokenVerifier, DEFAULT_DEV_SECRET, GatewayError, signDevToken } from '../index.js';
import { startHarness, TestClient, tryUpgrade, type Harness } from './harness.js';

const ISSUER = 'chatmesh-dev';
const AUDIENCE = 'chatmesh';
const secret = (value: string) => new TextEncoder().encode(value);

function sign(
  claims: Record<string, unknown>,
  options: { key?: string; exp?: number; nbf?: number; aud?: string; iss?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ did: 'phone', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setExpirationTime(options.exp ?? now + 3600);
  if (options.nbf !== undefined) jwt = jwt.setNotBefore(options.nbf);
  return jwt.sign(secret(options.key ?? DEFAULT_DEV_SECRET));
}

/** An unsecured JWT (`alg: none`, empty signature). */
function unsigned(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'alice', did: 'phone', iss: ISSUER, aud: AUDIENCE, exp: now + 3600 })}.`;
}

let h: Harness;
before(async () => {
  h = await startHarness({ withCore: false });
});
after(() => h?.close());

test('refused upgrades answer 401 with the CM_ERR_AUTH_* code and open nothing', async () => {
  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, Record<string, string>, string]> = [
    ['missing token', {}, 'CM_ERR_AUTH_MISSING_TOKEN'],
    [
      'forged signature',
      { authorization: `Bearer ${await sign({}, { key: 'x'.repeat(40) })}` },
      'CM_ERR_AUTH_INVALID_TOKEN',
    ],
    ['expired', { authorization: `Bearer ${await sign({}, { exp: now - 60 })}` }, 'CM_ERR_AUTH_EXPIRED_TOKEN'],
    ['not valid yet', { authorization: `Bearer ${await sign({}, { nbf: now + 600 })}` }, 'CM_ERR_AUTH_EXPIRED_TOKEN'],
    ['alg none', { authorization: `Bearer ${unsigned()}` }, 'CM_ERR_AUTH_INVALID_TOKEN'],
    [
      'wrong audience',
      { authorization: `Bearer ${await sign({}, { aud: 'someone-else' })}` },
      'CM_ERR_AUTH_WRONG_AUDIENCE',
    ],
    ['wrong issuer', { authorization: `Bearer ${await sign({}, { iss: 'evil' })}` }, 'CM_ERR_AUTH_WRONG_AUDIENCE'],
    ['no device claim', { authorization: `Bearer ${await sign({ did: undefined })}` }, 'CM_ERR_AUTH_INVALID_TOKEN'],
    ['garbage', { authorization: 'Bearer not-a-jwt' }, 'CM_ERR_AUTH_INVALID_TOKEN'],
  ];
  for (const [name, headers, code] of cases) {
    const outcome = await tryUpgrade(h.wsUrl, headers);
    assert.notEqual(outcome, 'opened', `${name}: must not open`);
    if (outcome === 'opened') continue;
    assert.equal(outcome.status, 401, name);
    assert.equal(outcome.body.code, code, name);
    assert.equal(typeof outcome.body.message, 'string', name);
  }
  assert.equal(await h.metric('chatmesh_gateway_auth_failures_total', { code: 'CM_ERR_AUTH_MISSING_TOKEN' }), 1);
  assert.equal(h.gateway.health().details['connections'], 0);
});

test('a valid token opens, by header or by the access_token query parameter', async () => {
  const token = await h.token(randomName('u'), 'web');
  assert.equal(await tryUpgrade(h.wsUrl, { authorization: `Bearer ${token}` }), 'opened');
  assert.equal(await tryUpgrade(`${h.wsUrl}?access_token=${encodeURIComponent(token)}`), 'opened');
});

test('the verifier refuses stack mode without a JWKS URL, and signs and checks development tokens', async () => {
  assert.throws(
    () => createTokenVerifier({ mode: 'stack', issuer: ISSUER, audience: AUDIENCE, devSecret: DEFAULT_DEV_SECRET }),
    (error: unknown) => error instanceof GatewayError && error.code === 'CM_ERR_GATEWAY_AUTH_CONFIG',
  );
  const verifier = createTokenVerifier({
    mode: 'embedded',
    issuer: ISSUER,
    audience: AUDIENCE,
    devSecret: DEFAULT_DEV_SECRET,
  });
  const { token, expiresAtMs } = await signDevToken({
    userId: 'u1',
    deviceId: 'd1',
    issuer: ISSUER,
    audience: AUDIENCE,
    devSecret: DEFAULT_DEV_SECRET,
  });
  const verified = await verifier.verify(token);
  assert.deepEqual(verified, { userId: 'u1', deviceId: 'd1', expiresAtMs });
  await assert.rejects(verifier.verify(unsigned()), (error: unknown) => {
    assert.ok(error instanceof AuthError);
    assert.equal(error.code, 'CM_ERR_AUTH_INVALID_TOKEN');
    return true;
  });
});

test('a connection whose token expires is closed with 4001', async () => {
  const exp = Math.floor(Date.now() / 1000) + 2;
  const token = await new SignJWT({ did: 'phone' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(randomName('u'))
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime(exp)
    .sign(secret(DEFAULT_DEV_SECRET));
  const client = await TestClient.open(h.wsUrl, token);
  await client.waitForFrame((f) => f.type === 'hello', 'hello');
  const closed = await client.closed;
  assert.equal(closed.code, 4001);
  assert.ok(Date.now() >= exp * 1000 - 50, 'not before the token expired');
});
