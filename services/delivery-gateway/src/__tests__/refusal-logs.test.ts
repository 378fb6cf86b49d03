import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomName } from '@chatmesh/testing';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
const logLines: string[] = [];
before(async () => {
  h = await startHarness({
    logLines,
    withCore: false,
    env: {
      CHATMESH_GATEWAY_CONNECTION_BURST: '5',
      CHATMESH_GATEWAY_CONNECTION_RATE_PER_SECOND: '1',
      CHATMESH_GATEWAY_MAX_VIOLATIONS_PER_MINUTE: '8',
    },
  });
});
after(() => h?.close());

test('rate-limit refusals and the 4009 close are counted and logged (sampled per code)', async () => {
  const c = await h.connect(randomName('u'), 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  for (let i = 0; i < 40; i++) c.send({ type: 'ping', nonce: String(i) });
  assert.equal((await c.closed).code, 4009);
  const lines = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const limited = lines.filter((line) => line['code'] === 'CM_ERR_PROTOCOL_RATE_LIMITED');
  assert.equal(limited.length, 5, 'the first 5 refusals of the minute are logged, the rest only counted');
  assert.ok(c.ofType('error').length > 5);
  const closes = lines.filter((line) => line['sampleKey'] === 'close:4009');
  assert.equal(closes.length, 1);
  assert.equal(closes[0]!['level'], 'warn');
  assert.equal(await h.metric('chatmesh_gateway_closes_total', { close_code: '4009' }), 1);
  assert.ok((await h.metric('chatmesh_gateway_frame_errors_total', { code: 'CM_ERR_PROTOCOL_RATE_LIMITED' })) > 5);
});
