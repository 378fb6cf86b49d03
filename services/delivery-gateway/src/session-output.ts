import type { ErrorCode } from '@chatmesh/errors';
import type { Logger, SampledLog } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import { CLOSE_CODES, type CloseCodeEntry, type ServerFrame } from '@chatmesh/protocol';
import type { GATEWAY_METRICS } from './metrics.js';
import type { Session } from './session.js';

/** The shape of an error sent in an `error` frame: a code of the table, never a bare string. */
export interface ChatmeshErrorLike {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retriable: boolean;
}

/** What {@link SessionOutput} needs. */
export interface SessionOutputDeps {
  readonly logger: Logger;
  readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
  /** Refused frames and policy closes: every one counted by a metric, the first few per code a minute logged. */
  readonly refusals: SampledLog;
  /** Above this many buffered bytes a socket is closed with 4008 (`CHATMESH_GATEWAY_MAX_BACKPRESSURE_BYTES`). */
  readonly maxBackpressureBytes: number;
  /** Refused frames a connection may have in a minute before it is closed with 4009. */
  readonly maxViolationsPerMinute: number;
}

/**
 * Everything the gateway writes to a socket: frames (with the backpressure bound), `error` frames, refusals
 * counted against the connection, and closes with a protocol close code.
 */
export class SessionOutput {
  constructor(private readonly deps: SessionOutputDeps) {}

  /** Sends frames in one corked write; false (and the socket closed with 4008) when the client is too slow. */
  sendFrames(session: Session, frames: readonly ServerFrame[]): boolean {
    const ws = session.ws;
    if (session.closed || ws === null) return false;
    const { metrics } = this.deps;
    let dropped = false;
    ws.cork(() => {
      for (const frame of frames) {
        if (ws.send(JSON.stringify(frame), false) === 2) dropped = true;
        metrics.gatewayFramesOutTotal.inc({ type: frame.type });
      }
    });
    // The bound is ours (uWS's own limit sits above it), so a slow client is closed with a code the
    // SDK understands instead of silently losing frames; it resumes from its cursor.
    if (dropped || ws.getBufferedAmount() > this.deps.maxBackpressureBytes) {
      metrics.gatewayBackpressureClosesTotal.inc();
      this.close(session, CLOSE_CODES.SLOW_CONSUMER);
      return false;
    }
    return true;
  }

  close(session: Session, entry: CloseCodeEntry): void {
    if (session.closed || session.ws === null) return;
    this.deps.metrics.gatewayClosesTotal.inc({ close_code: String(entry.code) });
    // end() runs the close handler synchronously, which does the bookkeeping.
    session.ws.end(entry.code, entry.type);
  }

  /** A store read of the device's inbox failed: the socket is closed so that the device resumes from its cursor. */
  streamFailed(session: Session, error: unknown): void {
    this.deps.logger.warn(
      { err: error },
      'inbox stream failed; closing the socket so the device resumes from its cursor',
    );
    this.close(session, CLOSE_CODES.GOING_AWAY);
  }

  errorFrame(session: Session, error: ChatmeshErrorLike, requestId?: string): void {
    this.deps.metrics.gatewayFrameErrorsTotal.inc({ code: error.code });
    this.deps.refusals.log(
      'info',
      error.code,
      { code: error.code, userId: session.userId, deviceId: session.deviceId, connectionId: session.connectionId },
      `a frame was refused: ${error.message}`,
    );
    this.sendFrames(session, [
      {
        type: 'error',
        code: error.code,
        message: error.message,
        retriable: error.retriable,
        ...(requestId === undefined ? {} : { requestId }),
      },
    ]);
  }

  /** Bad or rate-limited frames count against the connection; too many in a minute close it (4009). */
  violation(session: Session): void {
    const now = Date.now();
    const window = (session.violations ??= { count: 0, startMs: now });
    if (now - window.startMs > 60_000) {
      window.startMs = now;
      window.count = 0;
    }
    window.count++;
    if (window.count > this.deps.maxViolationsPerMinute) {
      this.deps.refusals.log(
        'warn',
        'close:4009',
        {
          userId: session.userId,
          deviceId: session.deviceId,
          connectionId: session.connectionId,
          violations: window.count,
        },
        'closed a connection for repeated protocol violations or rate abuse (4009)',
      );
      this.close(session, CLOSE_CODES.POLICY);
    }
  }
}
