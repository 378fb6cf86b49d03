import assert from 'node:assert/strict';
import { it } from 'node:test';
import kafkajs from 'kafkajs';
import { ERROR_CODES } from '@chatmesh/errors';
import {
  BusError,
  compileKafkaBusOptions,
  KAFKA_BROKER_ERROR_TABLE,
  toBusError,
  type KafkaBusLogEntry,
} from '../index.js';
import { forwardLogs } from '../kafka/kafka-bus.js';

const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError, KafkaJSError } = kafkajs;

/** kafkajs builds protocol errors from its broker code table entries; its typings only admit an Error. */
const protocolError = (type: string, code: number) =>
  new KafkaJSProtocolError({ message: type, type, code, retriable: false } as unknown as Error);

it('maps broker errors by type, looking through kafkajs retry wrappers', () => {
  const rebalancing = protocolError('REBALANCE_IN_PROGRESS', 27);
  const wrapped = new KafkaJSNumberOfRetriesExceeded(rebalancing, { retryCount: 5, retryTime: 100 });
  const mapped = toBusError(wrapped, 'commit', { topic: 't', partition: 1 });
  assert.ok(mapped instanceof BusError);
  assert.equal(mapped.code, 'CM_ERR_BUS_REBALANCING');
  assert.equal(mapped.retriable, true);
  assert.equal(mapped.topic, 't');
  assert.equal(mapped.partition, 1);
  assert.equal(mapped.cause, wrapped);
});

it('maps client errors by class name and keeps kafkajs retriable flag for unknown ones', () => {
  assert.equal(toBusError(new KafkaJSConnectionError('refused'), 'connect').code, 'CM_ERR_BUS_BROKER_UNAVAILABLE');
  const unknown = toBusError(new KafkaJSError('odd', { retriable: false }), 'x');
  assert.equal(unknown.code, 'CM_ERR_BUS_BROKER_ERROR');
  assert.equal(unknown.retriable, false);
  const tooLarge = toBusError(protocolError('MESSAGE_TOO_LARGE', 10), 'send');
  assert.deepEqual([tooLarge.code, tooLarge.retriable], ['CM_ERR_BUS_RECORD_TOO_LARGE', false]);
});

it('every code in the table exists in the chatmesh code table', () => {
  for (const [type, { code }] of Object.entries(KAFKA_BROKER_ERROR_TABLE))
    assert.ok(code in ERROR_CODES, `${type} → ${code}`);
});

it('rejects contradictory Kafka options listing every problem', () => {
  assert.throws(
    () => compileKafkaBusOptions({ brokers: [], sessionTimeoutMs: 3_000, heartbeatIntervalMs: 2_000 }),
    (error: unknown) =>
      error instanceof BusError &&
      error.code === 'CM_ERR_BUS_INVALID_OPTIONS' &&
      /brokers/.test(error.message) &&
      /heartbeatIntervalMs \(2000\)/.test(error.message),
  );
  assert.equal(compileKafkaBusOptions({ brokers: ['b:9092'] }).sessionTimeoutMs, 10_000);
});

it('forwards kafkajs logs at their level, but an expected, retried CONCURRENT_TRANSACTIONS answer at debug', () => {
  const entries: KafkaBusLogEntry[] = [];
  const forward = forwardLogs((entry) => entries.push(entry));
  const at = (level: number, error: string) => ({
    namespace: 'Connection',
    level,
    label: 'ERROR',
    log: { message: 'Response AddPartitionsToTxn(key: 24, version: 1)', error, timestamp: '' },
  });
  forward(
    at(
      kafkajs.logLevel.ERROR,
      'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
    ),
  );
  forward(at(kafkajs.logLevel.ERROR, 'The broker is not available'));
  forward(at(kafkajs.logLevel.WARN, 'something else'));
  assert.deepEqual(
    entries.map((entry) => entry.level),
    ['debug', 'error', 'warn'],
  );
  assert.equal(entries[0]!.message, 'Response AddPartitionsToTxn(key: 24, version: 1)');
});
