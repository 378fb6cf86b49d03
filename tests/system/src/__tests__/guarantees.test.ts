import { startEmbeddedHarness } from '../embedded-harness.js';
import { defineGuaranteeSuite } from '../guarantee-suite.js';

defineGuaranteeSuite({
  name: 'core message path guarantees (embedded: memory bus, memory store, one process)',
  createHarness: () => startEmbeddedHarness(),
  load: { chats: 20, minMembers: 3, maxMembers: 5, sends: 400, inFlight: 24 },
  // Short: a crashed member's in-flight sends go unanswered until the restart, so the driver really retries.
  retry: { ackTimeoutMs: 150, deadlineMs: 60_000 },
  settleTimeoutMs: 60_000,
});
