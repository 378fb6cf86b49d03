import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEAD_LETTER_ERROR_CODE_HEADER,
  LEGACY_DEAD_LETTER_ERROR_CODE_HEADER,
  deadLetterEnvelopeOf,
  deadLetterErrorCodeOf,
  deadLetterRecordOf,
  type BusRecord,
} from '../index.js';

const record: BusRecord = {
  topic: 'chat.events',
  partition: 3,
  offset: '42',
  key: 'chat-1',
  value: Buffer.from('bytes'),
  headers: { trace: 't1' },
  timestampMs: 1_000,
};

test('the envelope keeps the original record untouched, with the failure beside it', () => {
  const envelope = deadLetterEnvelopeOf(record, {
    groupId: 'g',
    errorCode: 'CM_ERR_SCHEMA_DECODE',
    error: new Error('bad magic byte'),
    attempts: 1,
    failedAtMs: 2_000,
  });
  assert.deepEqual(envelope, {
    originalTopic: 'chat.events',
    originalPartition: 3,
    originalOffset: '42',
    originalKey: 'chat-1',
    originalValue: Buffer.from('bytes'),
    originalHeaders: { trace: 't1' },
    originalTimestampMs: 1_000,
    groupId: 'g',
    errorCode: 'CM_ERR_SCHEMA_DECODE',
    errorMessage: 'bad magic byte',
    attempts: 1,
    failedAtMs: 2_000,
  });
  assert.equal(deadLetterEnvelopeOf(record, { ...envelope, error: 'plain' }).errorMessage, 'plain');
});

test('the dead-letter record is keyed like the original and names the code in the one header', () => {
  const envelope = deadLetterEnvelopeOf(record, { groupId: 'g', errorCode: 'CM_ERR_X', error: null, attempts: 5 });
  const parked = deadLetterRecordOf(envelope, Buffer.from('encoded'));
  assert.deepEqual(parked, {
    key: 'chat-1',
    value: Buffer.from('encoded'),
    headers: { [DEAD_LETTER_ERROR_CODE_HEADER]: 'CM_ERR_X' },
  });
  assert.equal(deadLetterErrorCodeOf(parked.headers!), 'CM_ERR_X');
});

test('records parked under the old header name still read their code; the new name wins when both are set', () => {
  assert.equal(deadLetterErrorCodeOf({ [LEGACY_DEAD_LETTER_ERROR_CODE_HEADER]: 'CM_ERR_OLD' }), 'CM_ERR_OLD');
  assert.equal(
    deadLetterErrorCodeOf({
      [LEGACY_DEAD_LETTER_ERROR_CODE_HEADER]: 'CM_ERR_OLD',
      [DEAD_LETTER_ERROR_CODE_HEADER]: 'CM_ERR_NEW',
    }),
    'CM_ERR_NEW',
  );
  assert.equal(deadLetterErrorCodeOf({}), undefined);
});
