import { isChatmeshError, type ErrorCode } from '@chatmesh/errors';
import type { Logger, SampledLog } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import { CLOSE_CODES } from '@chatmesh/protocol';
import type { ChatStore } from '@chatmesh/store';
import type { TemplatedApp } from 'uWebSockets.js';
import type { FrameHandler } from './frame-handler.js';
import { readHandshake, upgradeAfterAwait } from './internal/async-upgrade.js';
import { bearerToken, pending, sendError } from './internal/http.js';
import type { GATEWAY_METRICS } from './metrics.js';
import type { UserData } from './session.js';
import type { SessionLifecycle } from './session-lifecycle.js';
import type { SessionOutput } from './session-output.js';
import type { TokenVerifier } from './token-verifier.js';

/** What {@link registerWebSocketRoute} needs. */
export interface WebSocketRouteDeps {
  readonly maxFrameBytes: number;
  readonly maxBackpressureBytes: number;
  readonly idleTimeoutSeconds: number;
  /** The per-user device list limit (DEVICES_CONFIG), checked at the upgrade. */
  readonly maxDevicesPerUser: number;
  /** False once the gateway drains: upgrades are refused with 503. */
  accepting(): boolean;
  readonly verifier: TokenVerifier;
  readonly store: ChatStore;
  readonly logger: Logger;
  readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
  readonly refusals: SampledLog;
  readonly output: SessionOutput;
  readonly frames: FrameHandler;
  readonly lifecycle: SessionLifecycle;
}

/**
 * `GET /v1/ws`: the upgrade's checks (draining, token, device list), then uWS's socket events handed to the
 * session's lifecycle and frame handler.
 */
export function registerWebSocketRoute(app: TemplatedApp, deps: WebSocketRouteDeps): void {
  const { metrics, logger, output, lifecycle } = deps;
  app.ws<UserData>('/v1/ws', {
    // uWS drops a socket whose frame exceeds its limit without a close frame (the client sees 1006), so
    // its hard cap sits above ours and frames between the two are closed properly with 1009 below.
    maxPayloadLength: deps.maxFrameBytes * 2,
    // uWS drops frames past its own limit; ours (checked after each send) closes first with 4008.
    maxBackpressure: deps.maxBackpressureBytes * 2 + deps.maxFrameBytes,
    // Broadcast frames go out through uWS pub/sub, past our own check: a socket that reaches uWS's limit
    // is closed rather than silently losing a frame, and resumes from its positions.
    closeOnBackpressureLimit: 1,
    idleTimeout: deps.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const state = pending(res);
      const handshake = readHandshake(req, context);
      const token = bearerToken(req);
      void (async () => {
        if (!deps.accepting()) {
          return sendError(state, 503, {
            code: 'CM_ERR_COMMON_SHUTTING_DOWN',
            message: 'the gateway is draining; reconnect elsewhere',
          });
        }
        if (token === null) {
          metrics.gatewayAuthFailuresTotal.inc({ code: 'CM_ERR_AUTH_MISSING_TOKEN' });
          return sendError(state, 401, {
            code: 'CM_ERR_AUTH_MISSING_TOKEN',
            message: 'no bearer token (Authorization header or access_token)',
          });
        }
        let verified;
        try {
          verified = await deps.verifier.verify(token);
        } catch (error) {
          const code = isChatmeshError(error) ? error.code : 'CM_ERR_AUTH_INVALID_TOKEN';
          metrics.gatewayAuthFailuresTotal.inc({ code });
          return sendError(state, 401, { code, message: error instanceof Error ? error.message : 'invalid token' });
        }
        if (state.aborted) return;
        const refusal = await deviceRefusal(deps, verified.userId, verified.deviceId);
        if (refusal !== null) {
          metrics.gatewayAuthFailuresTotal.inc({ code: refusal.code });
          return sendError(state, 403, refusal);
        }
        if (state.aborted) return;
        const session = lifecycle.create(verified.userId, verified.deviceId, verified.expiresAtMs);
        // Uncorked on purpose: see upgradeAfterAwait (uWS's cork() could close the new socket).
        upgradeAfterAwait<UserData>(state, { session }, handshake);
      })().catch((error: unknown) => {
        logger.error({ err: error }, 'upgrade failed');
        sendError(state, 500, { code: 'CM_ERR_COMMON_INTERNAL', message: 'upgrade failed' });
      });
    },
    open: (ws) => {
      const { session } = ws.getUserData();
      session.ws = ws;
      lifecycle.opened(session);
    },
    message: (ws, message, isBinary) => {
      const { session } = ws.getUserData();
      const receivedAtMs = Date.now();
      if (message.byteLength > deps.maxFrameBytes) {
        metrics.gatewayFrameErrorsTotal.inc({ code: 'CM_ERR_PROTOCOL_FRAME_TOO_LARGE' });
        output.close(session, CLOSE_CODES.TOO_BIG);
        return;
      }
      if (isBinary) {
        metrics.gatewayFramesInTotal.inc({ type: 'invalid' });
        output.errorFrame(session, {
          code: 'CM_ERR_PROTOCOL_MALFORMED',
          message: 'binary frames are not accepted: send JSON text frames',
          retriable: false,
        });
        output.violation(session);
        return;
      }
      // uWS reuses the buffer after this callback: decode it now.
      const text = Buffer.from(message).toString('utf8');
      // Frames of one socket are handled in order (a send may wait on the shared rate limiter).
      void session.runInOrder(
        () => deps.frames.handleText(session, text, receivedAtMs),
        deps.frames.onFrameFailed(session),
      );
    },
    close: (ws, code, message) => {
      const { session } = ws.getUserData();
      if (code === 1006 && message.byteLength > 0) {
        // uWebSockets.js drops a socket itself (no close frame: the client sees 1006) for a text frame that is not
        // UTF-8 (RFC 6455 asks for 1007) or a frame past its hard size cap: it validates before the gateway sees
        // the frame, so the gateway can only count and log it (docs/protocol.md, "Frames").
        const reason = Buffer.from(message).toString('utf8');
        const errorCode = /utf-?8/i.test(reason) ? 'CM_ERR_PROTOCOL_MALFORMED' : 'CM_ERR_PROTOCOL_FRAME_TOO_LARGE';
        metrics.gatewayFrameErrorsTotal.inc({ code: errorCode });
        deps.refusals.log(
          'info',
          `drop:${errorCode}`,
          {
            code: errorCode,
            reason,
            userId: session.userId,
            deviceId: session.deviceId,
            connectionId: session.connectionId,
          },
          'the WebSocket library dropped a connection for a bad frame',
        );
      }
      lifecycle.closed(session, code);
    },
  });
}

/**
 * The device-list check at the door (contract: presence, the list's writer, enforces it again when
 * two new devices race): a removed device, or a new one past the limit, is refused.
 */
async function deviceRefusal(
  deps: Pick<WebSocketRouteDeps, 'store' | 'logger' | 'maxDevicesPerUser'>,
  userId: string,
  deviceId: string,
): Promise<{ code: ErrorCode; message: string } | null> {
  let devices;
  try {
    devices = await deps.store.devices.list(userId);
  } catch (error) {
    // Fail open: presence registers the device and still enforces both rules (close 4011 / 4012).
    deps.logger.warn({ err: error }, 'could not read the device list; letting the upgrade through');
    return null;
  }
  const known = devices.find((d) => d.deviceId === deviceId);
  if (known !== undefined && known.removedAtMs !== null) {
    return {
      code: 'CM_ERR_DEVICE_REMOVED',
      message: 'this device was removed from the account; sign in again as a new device',
    };
  }
  if (known === undefined && devices.filter((d) => d.removedAtMs === null).length >= deps.maxDevicesPerUser) {
    return {
      code: 'CM_ERR_DEVICE_LIMIT',
      message: `the account already has ${deps.maxDevicesPerUser} devices; remove one first (DELETE /v1/devices/<id>)`,
    };
  }
  return null;
}
