import { ID_PATTERN } from '@chatmesh/protocol';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { AuthError, GatewayError } from './errors.js';

/** Who a valid token says the caller is. */
export interface VerifiedToken {
  /** `sub`. */
  readonly userId: string;
  /** The `did` claim. */
  readonly deviceId: string;
  /** `exp` in epoch ms (required: a token without one is refused, or a leaked token would work forever). */
  readonly expiresAtMs: number;
}

/** Checks client tokens (JWT): signature, `exp`, `nbf`, `iss`, `aud`, then `sub` and `did`. */
export interface TokenVerifier {
  /**
   * @throws AuthError `CM_ERR_AUTH_INVALID_TOKEN` (malformed, forged, unknown key, `alg: none`, bad `sub`/`did`),
   *   `CM_ERR_AUTH_EXPIRED_TOKEN` (exp passed or nbf not reached), `CM_ERR_AUTH_WRONG_AUDIENCE` (iss or aud)
   */
  verify(token: string): Promise<VerifiedToken>;
}

/** Options of {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  readonly mode: 'embedded' | 'stack';
  readonly issuer: string;
  readonly audience: string;
  /** Stack mode: the identity provider's JWKS (keys fetched and cached by jose, refetched for unknown `kid`s). */
  readonly jwksUrl?: string | undefined;
  /** Embedded mode: the HS256 development secret. */
  readonly devSecret: string;
  /** Seconds of clock skew tolerated on exp/nbf. @default 5 */
  readonly clockToleranceSeconds?: number;
}

/** Asymmetric algorithms accepted from a JWKS; `none` and HMAC (which would let a public key sign) never are. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * A verifier with JWKS keys in stack mode and the HS256 development secret in embedded mode.
 * @throws GatewayError `CM_ERR_GATEWAY_AUTH_CONFIG` in stack mode without a JWKS URL
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { issuer, audience } = options;
  let key: JWTVerifyGetKey | Uint8Array;
  let algorithms: string[];
  if (options.mode === 'stack') {
    if (options.jwksUrl === undefined) {
      throw new GatewayError(
        'CM_ERR_GATEWAY_AUTH_CONFIG',
        'stack mode verifies client tokens with the identity provider keys: set CHATMESH_AUTH_JWKS_URL (the development secret is for embedded mode only)',
        { context: { mode: options.mode } },
      );
    }
    key = createRemoteJWKSet(new URL(options.jwksUrl));
    algorithms = JWKS_ALGORITHMS;
  } else {
    key = new TextEncoder().encode(options.devSecret);
    algorithms = ['HS256'];
  }
  const clockTolerance = options.clockToleranceSeconds ?? 5;

  return {
    async verify(token) {
      let payload: Record<string, unknown>;
      try {
        const verified =
          key instanceof Uint8Array
            ? await jwtVerify(token, key, { issuer, audience, algorithms, clockTolerance, requiredClaims: ['exp'] })
            : await jwtVerify(token, key, { issuer, audience, algorithms, clockTolerance, requiredClaims: ['exp'] });
        payload = verified.payload;
      } catch (error) {
        throw toAuthError(error);
      }
      const { sub, did, exp } = payload as { sub?: unknown; did?: unknown; exp?: unknown };
      if (typeof sub !== 'string' || !ID_PATTERN.test(sub)) {
        throw new AuthError('CM_ERR_AUTH_INVALID_TOKEN', 'the token has no valid `sub` (user id)', {
          context: { claim: 'sub' },
        });
      }
      if (typeof did !== 'string' || !ID_PATTERN.test(did)) {
        throw new AuthError('CM_ERR_AUTH_INVALID_TOKEN', 'the token has no valid `did` (device id) claim', {
          context: { claim: 'did' },
        });
      }
      // jose checked that `exp` is there and a number (requiredClaims) before the signature was accepted.
      return { userId: sub, deviceId: did, expiresAtMs: (exp as number) * 1000 };
    },
  };
}

function toAuthError(error: unknown): AuthError {
  if (error instanceof joseErrors.JWTExpired) {
    return new AuthError('CM_ERR_AUTH_EXPIRED_TOKEN', 'the token has expired', {
      cause: error,
      context: { claim: 'exp' },
    });
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'exp') {
      return new AuthError('CM_ERR_AUTH_INVALID_TOKEN', 'the token has no valid `exp` (expiry) claim', {
        cause: error,
        context: { claim: 'exp' },
      });
    }
    if (error.claim === 'nbf') {
      return new AuthError('CM_ERR_AUTH_EXPIRED_TOKEN', 'the token is not valid yet (nbf)', {
        cause: error,
        context: { claim: 'nbf' },
      });
    }
    if (error.claim === 'iss' || error.claim === 'aud') {
      return new AuthError(
        'CM_ERR_AUTH_WRONG_AUDIENCE',
        `the token's ${error.claim} is not the one this gateway accepts`,
        {
          cause: error,
          context: { claim: error.claim },
        },
      );
    }
  }
  // Never echo jose's detail for forged tokens: "signature verification failed" is all a caller learns.
  return new AuthError(
    'CM_ERR_AUTH_INVALID_TOKEN',
    'the token is malformed, forged or signed with a refused key or algorithm',
    {
      cause: error,
    },
  );
}

/** What {@link signDevToken} needs. */
export interface DevTokenRequest {
  readonly userId: string;
  readonly deviceId: string;
  readonly issuer: string;
  readonly audience: string;
  readonly devSecret: string;
  /** @default 86400 (a day) */
  readonly ttlSeconds?: number;
  /** @default Date.now() */
  readonly nowMs?: number;
}

/** Signs an HS256 development token (embedded mode's `POST /v1/dev/token`, and tests). */
export async function signDevToken(request: DevTokenRequest): Promise<{ token: string; expiresAtMs: number }> {
  const nowSeconds = Math.floor((request.nowMs ?? Date.now()) / 1000);
  const exp = nowSeconds + (request.ttlSeconds ?? 86_400);
  const token = await new SignJWT({ did: request.deviceId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(request.userId)
    .setIssuer(request.issuer)
    .setAudience(request.audience)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(request.devSecret));
  return { token, expiresAtMs: exp * 1000 };
}
