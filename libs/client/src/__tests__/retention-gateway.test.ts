/**
 * Retention end to end on the embedded gateway (ingest, fan-out and the gateway on the memory bus and a memory store
 * whose clock the test moves): a device back after its inbox entries expired gets every message once, in order.
 */
import { after, before, test } from 'node:test';
import { startChatmeshSystem, type ChatmeshSystem } from './helpers/chatmesh-system.js';
import { runRetentionScenario } from './helpers/retention-scenario.js';

const INBOX_SECONDS = 60;
let now = Date.now();
let system: ChatmeshSystem;
before(async () => {
  system = await startChatmeshSystem({
    retention: { chatLogSeconds: 0, chatKeySeconds: 8 * 24 * 60 * 60, inboxSeconds: INBOX_SECONDS },
    clock: () => now,
  });
});
after(() => system?.close());

test('SDK on the embedded gateway: inbox entries expired while away are named, and the history fills them in', async () => {
  await runRetentionScenario(system, async () => {
    now += INBOX_SECONDS * 1000 + 1;
  });
});
