// What the three scenario scripts share: the prepared users (written by run.ts), the settings it passes as
// environment variables, the thresholds and the summary file run.ts reads back.
import { SharedArray } from 'k6/data';

function required(name) {
  const value = __ENV[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set: start the scenarios with npm run bench:k6 -w @chatmesh/load-tests`);
  }
  return value;
}

function number(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return value;
}

/** Every user of the run: `{userId, peerId, chatId, token}`, user 2p and 2p+1 in direct chat p. */
export const users = new SharedArray('users', () => JSON.parse(open(required('CHATMESH_K6_USERS'))));

export const settings = {
  wsUrl: required('CHATMESH_K6_WS_URL'),
  /** Sends per second of each device. */
  ratePerUser: number('CHATMESH_K6_RATE_PER_USER', 1),
  seconds: number('CHATMESH_K6_SECONDS', 30),
  /** Time for every device to connect before the sends start. */
  connectSeconds: number('CHATMESH_K6_CONNECT_SECONDS', 10),
  /** Time after the last send for deliveries to arrive before the sockets close. */
  drainSeconds: number('CHATMESH_K6_DRAIN_SECONDS', 10),
  ackEveryMs: number('CHATMESH_K6_ACK_EVERY_MS', 500),
  reconnects: number('CHATMESH_K6_RECONNECTS', 2),
  reconnectJitterMs: number('CHATMESH_K6_RECONNECT_JITTER_MS', 0),
  rampSeconds: number('CHATMESH_K6_RAMP_SECONDS', 30),
  p95Ms: number('CHATMESH_K6_P95_MS', 500),
  p99Ms: number('CHATMESH_K6_P99_MS', 1000),
  reconnectP95Ms: number('CHATMESH_K6_RECONNECT_P95_MS', 5000),
  maxErrorRate: number('CHATMESH_K6_MAX_ERROR_RATE', 0.01),
};

/** Thresholds of every scenario: live delivery latency and the error rate (k6 exits 99 when one fails). */
export function thresholds(extra = {}) {
  return {
    chat_delivery_ms: [`p(95)<${settings.p95Ms}`, `p(99)<${settings.p99Ms}`],
    chat_errors: [`rate<${settings.maxErrorRate}`],
    chat_connect_failures: ['count<1'],
    ...extra,
  };
}

export const summaryTrendStats = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'count'];

/** The user a VU plays (VU ids start at 1). */
export function userOf(vuId) {
  const user = users[vuId - 1];
  if (user === undefined) throw new Error(`no user for VU ${vuId}: more VUs than prepared users`);
  return user;
}

/** The summary as JSON for run.ts (`CHATMESH_K6_SUMMARY`) and a short text on stdout. */
export function handleSummary(data) {
  const lines = [];
  for (const [name, metric] of Object.entries(data.metrics)) {
    if (!name.startsWith('chat_')) continue;
    const failed = Object.entries(metric.thresholds ?? {})
      .filter(([, t]) => !t.ok)
      .map(([expr]) => expr);
    lines.push(`${name}: ${JSON.stringify(metric.values)}${failed.length > 0 ? `  FAILED ${failed.join(', ')}` : ''}`);
  }
  return { [required('CHATMESH_K6_SUMMARY')]: JSON.stringify(data), stdout: `${lines.join('\n')}\n` };
}
