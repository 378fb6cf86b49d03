// Steady 1:1 run: every prepared user online at once, each sending to its direct-chat peer at a fixed rate
// for CHATMESH_K6_SECONDS, then a drain. Thresholds on live send → deliver latency and the error rate.
// Started by run.ts (`npm run bench:k6 -w @chatmesh/load-tests -- --scenario steady`).
import exec from 'k6/execution';
import { runDevice } from './lib/chat-device.js';
import { settings, summaryTrendStats, thresholds, userOf, users } from './lib/scenario.js';

export { handleSummary } from './lib/scenario.js';

const totalSeconds = settings.connectSeconds + settings.seconds + settings.drainSeconds;

export const options = {
  scenarios: {
    steady: {
      executor: 'per-vu-iterations',
      vus: users.length,
      iterations: 1,
      maxDuration: `${totalSeconds + 30}s`,
    },
  },
  thresholds: thresholds(),
  summaryTrendStats,
};

export default function () {
  const start = exec.scenario.startTime;
  const sendFromMs = start + settings.connectSeconds * 1000;
  const sendUntilMs = sendFromMs + settings.seconds * 1000;
  runDevice({
    wsUrl: settings.wsUrl,
    user: userOf(exec.vu.idInTest),
    sendEveryMs: 1000 / settings.ratePerUser,
    sendFromMs,
    sendUntilMs,
    closeAtMs: sendUntilMs + settings.drainSeconds * 1000,
    reconnectAtMs: [],
    reconnectJitterMs: 0,
    ackEveryMs: settings.ackEveryMs,
    tags: {},
  });
}
