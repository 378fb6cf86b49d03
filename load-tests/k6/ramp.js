// Ramp-up: devices come online one after another over CHATMESH_K6_RAMP_SECONDS (k6 ramping-vus, VUs in
// order, so both members of a direct chat arrive close together), then all stay for CHATMESH_K6_SECONDS.
// Each device sends to its peer from its own syncDone until the drain before the end. A message sent
// before its peer was online arrives in the peer's inbox replay (chat_replay_delivery_ms, not in the
// live latency threshold).
import exec from 'k6/execution';
import { sleep } from 'k6';
import { runDevice } from './lib/chat-device.js';
import { settings, summaryTrendStats, thresholds, userOf, users } from './lib/scenario.js';

export { handleSummary } from './lib/scenario.js';

export const options = {
  scenarios: {
    ramp: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: `${settings.rampSeconds}s`, target: users.length },
        { duration: `${settings.seconds}s`, target: users.length },
      ],
      gracefulRampDown: '10s',
      gracefulStop: '30s',
    },
  },
  thresholds: thresholds(),
  summaryTrendStats,
};

export default function () {
  const endMs = exec.scenario.startTime + (settings.rampSeconds + settings.seconds) * 1000;
  const closeAtMs = endMs - 1000;
  if (Date.now() >= closeAtMs) {
    // A second iteration at the very end: nothing to do but wait for the scenario to stop.
    sleep(Math.max(0, endMs - Date.now()) / 1000 + 1);
    return;
  }
  runDevice({
    wsUrl: settings.wsUrl,
    user: userOf(exec.vu.idInTest),
    sendEveryMs: 1000 / settings.ratePerUser,
    sendFromMs: Date.now(),
    sendUntilMs: closeAtMs - settings.drainSeconds * 1000,
    closeAtMs,
    reconnectAtMs: [],
    reconnectJitterMs: 0,
    ackEveryMs: settings.ackEveryMs,
    tags: {},
  });
}
