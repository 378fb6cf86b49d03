// Reconnect storm: the steady 1:1 run, but CHATMESH_K6_RECONNECTS times during the sends every device closes
// its socket at the same moment and connects again at once (within CHATMESH_K6_RECONNECT_JITTER_MS).
// Measures connect → hello and → syncDone of the reconnects, and that nothing is lost: unacked frames
// come again in the replay, unacked sends are sent again with the same clientMessageId.
import exec from 'k6/execution';
import { runDevice } from './lib/chat-device.js';
import { settings, summaryTrendStats, thresholds, userOf, users } from './lib/scenario.js';

export { handleSummary } from './lib/scenario.js';

const totalSeconds = settings.connectSeconds + settings.seconds + settings.drainSeconds;

export const options = {
  scenarios: {
    reconnect_storm: {
      executor: 'per-vu-iterations',
      vus: users.length,
      iterations: 1,
      maxDuration: `${totalSeconds + 30}s`,
    },
  },
  thresholds: thresholds({
    chat_reconnect_syncdone_ms: [`p(95)<${settings.reconnectP95Ms}`],
  }),
  summaryTrendStats,
};

export default function () {
  const start = exec.scenario.startTime;
  const sendFromMs = start + settings.connectSeconds * 1000;
  const sendUntilMs = sendFromMs + settings.seconds * 1000;
  const storms = Math.max(1, Math.floor(settings.reconnects));
  const reconnectAtMs = Array.from(
    { length: storms },
    (_, k) => sendFromMs + Math.round(((k + 1) * settings.seconds * 1000) / (storms + 1)),
  );
  runDevice({
    wsUrl: settings.wsUrl,
    user: userOf(exec.vu.idInTest),
    sendEveryMs: 1000 / settings.ratePerUser,
    sendFromMs,
    sendUntilMs,
    closeAtMs: sendUntilMs + settings.drainSeconds * 1000,
    reconnectAtMs,
    reconnectJitterMs: settings.reconnectJitterMs,
    ackEveryMs: settings.ackEveryMs,
    tags: {},
  });
}
