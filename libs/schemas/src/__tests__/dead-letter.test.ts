import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeadLetterEnvelope } from '@chatmesh/bus';
import { createLocalCodec, deadLetterTopicOf, TOPICS, valueSubjectOf, type DeadLetter } from '../index.js';

// Compile-time: the bus envelope and the generated Avro type are the same shape, both ways.
const toAvro = (envelope: DeadLetterEnvelope): DeadLetter => envelope;
const toBus = (record: DeadLetter): DeadLetterEnvelope => record;

test('a bus DeadLetterEnvelope encodes as chatmesh.bus.DeadLetter on every twin and decodes back', async () => {
  const envelope: DeadLetterEnvelope = {
    originalTopic: 'user.inbox',
    originalPartition: 11,
    originalOffset: '18446744073709551615',
    originalKey: null,
    originalValue: null,
    originalHeaders: {},
    originalTimestampMs: Date.now(),
    groupId: 'fan-out-sequencer',
    errorCode: 'CM_ERR_BUS_HANDLER_FAILED',
    errorMessage: 'boom',
    attempts: 5,
    failedAtMs: Date.now(),
  };
  const codec = createLocalCodec();
  for (const topic of Object.values(TOPICS)) {
    const subject = valueSubjectOf(deadLetterTopicOf(topic.name));
    const decoded = await codec.decode<DeadLetter>(await codec.encode(subject, toAvro(envelope)));
    assert.deepEqual({ ...toBus(decoded.value) }, envelope);
  }
});
