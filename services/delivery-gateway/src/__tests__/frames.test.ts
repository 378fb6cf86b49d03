import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TOPICS } from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({
    env: {
      CHATMESH_GATEWAY_MAX_FRAME_BYTES: '4096',
      CHATMESH_GATEWAY_CONNECTION_BURST: '20',
      CHATMESH_GATEWAY_CONNECTION_RATE_PER_SECOND: '1',
      CHATMESH_GATEWAY_MAX_VIOLATIONS_PER_MINUTE: '8',
    },
  });
});
after(() => h?.close());

test('bad frames get an error frame with their code, reach no topic, and leave the connection usable', async () => {
  const commands = await h.collect(TOPICS.chatCommands.name);
  const c = await h.connect(randomName('u'), 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  const cases: Array<[string | Buffer, string]> = [
    ['{not json', 'CM_ERR_PROTOCOL_MALFORMED'],
    ['[1,2]', 'CM_ERR_PROTOCOL_MALFORMED'],
    [JSON.stringify({ type: 'teleport' }), 'CM_ERR_PROTOCOL_UNKNOWN_TYPE'],
    [JSON.stringify({ type: 'send', requestId: 'r', chatId: 'c' }), 'CM_ERR_PROTOCOL_INVALID_FRAME'],
    [
      JSON.stringify({ type: 'send', requestId: 'r', chatId: 'c', clientMessageId: 'm', body: 'x', admin: true }),
      'CM_ERR_PROTOCOL_INVALID_FRAME',
    ],
    [
      JSON.stringify({ type: 'createChat', requestId: 'r', chatId: 'has space', kind: 'direct', members: ['b'] }),
      'CM_ERR_PROTOCOL_INVALID_FRAME',
    ],
    [Buffer.from([1, 2, 3]), 'CM_ERR_PROTOCOL_MALFORMED'],
  ];
  for (const [index, [frame, code]] of cases.entries()) {
    if (typeof frame === 'string') c.send(frame);
    else c.ws.send(frame, { binary: true });
    await waitFor(() => c.ofType('error').length === index + 1, { description: `error frame ${index}` });
    assert.equal(c.ofType('error')[index]!['code'], code, `case ${index}`);
  }
  c.send({ type: 'ping', nonce: 'still-here' });
  await c.waitForFrame((f) => f.type === 'pong' && f['nonce'] === 'still-here', 'pong after bad frames');
  assert.equal(commands.length, 0, 'nothing was produced');
  assert.equal(await h.metric('chatmesh_gateway_frame_errors_total', { code: 'CM_ERR_PROTOCOL_INVALID_FRAME' }), 3);
  await c.close();
});

test('a frame over the size limit closes the connection with 1009', async () => {
  const c = await h.connect(randomName('u'), 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  c.send({ type: 'send', requestId: 'r', chatId: 'c', clientMessageId: 'm', body: 'x'.repeat(5000) });
  assert.equal((await c.closed).code, 1009);
});

test('past the connection rate: error frames CM_ERR_PROTOCOL_RATE_LIMITED, then 4009 on repeated abuse', async () => {
  const c = await h.connect(randomName('u'), 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  for (let i = 0; i < 40; i++) c.send({ type: 'ping', nonce: String(i) });
  const closed = await c.closed;
  assert.equal(closed.code, 4009);
  assert.equal(c.ofType('pong').length, 20, 'the burst went through');
  const limited = c.ofType('error');
  assert.ok(limited.length >= 8);
  assert.ok(limited.every((f) => f['code'] === 'CM_ERR_PROTOCOL_RATE_LIMITED' && f['retriable'] === true));
});
