import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLIENT_FRAME_TYPES,
  parseClientFrame,
  ProtocolError,
  SERVER_FRAME_TYPES,
  serverFrameSchema,
} from '../index.js';

const refused = (text: string, code: string) =>
  assert.throws(
    () => parseClientFrame(text),
    (e: unknown) => e instanceof ProtocolError && e.code === code,
  );

test('a valid send frame parses to its typed value', () => {
  const frame = parseClientFrame(
    JSON.stringify({ type: 'send', requestId: 'r1', chatId: 'c1', clientMessageId: 'm1', body: 'hi' }),
  );
  assert.equal(frame.type, 'send');
  assert.equal(frame.type === 'send' && frame.body, 'hi');
});

test('malformed JSON, non-objects, unknown types and bad fields get their codes', () => {
  refused('{not json', 'CM_ERR_PROTOCOL_MALFORMED');
  refused('[1,2]', 'CM_ERR_PROTOCOL_MALFORMED');
  refused('"send"', 'CM_ERR_PROTOCOL_MALFORMED');
  refused(JSON.stringify({ type: 'explode' }), 'CM_ERR_PROTOCOL_UNKNOWN_TYPE');
  refused(JSON.stringify({ type: 'send', requestId: 'r', chatId: 'c' }), 'CM_ERR_PROTOCOL_INVALID_FRAME');
  refused(JSON.stringify({ type: 'ack', upToInboxSeq: -1 }), 'CM_ERR_PROTOCOL_INVALID_FRAME');
  refused(JSON.stringify({ type: 'ping', extra: true }), 'CM_ERR_PROTOCOL_INVALID_FRAME');
  refused(
    JSON.stringify({ type: 'send', requestId: 'r', chatId: 'has space', clientMessageId: 'm' }),
    'CM_ERR_PROTOCOL_INVALID_FRAME',
  );
});

test('the frame type lists cover the protocol and server frames validate', () => {
  assert.ok(CLIENT_FRAME_TYPES.includes('send') && CLIENT_FRAME_TYPES.includes('presenceSubscribe'));
  assert.ok(SERVER_FRAME_TYPES.includes('messageReceived') && SERVER_FRAME_TYPES.includes('syncDone'));
  assert.equal(serverFrameSchema.safeParse({ type: 'syncDone', upToInboxSeq: 4 }).success, true);
  assert.equal(serverFrameSchema.safeParse({ type: 'syncDone' }).success, false);
});
