import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { ChatmeshError } from '@chatmesh/errors';
import { createComponentLogger, createLogger } from '../index.js';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

test('lines carry service, component, a word level and honour the level', () => {
  const { stream, lines } = capture();
  const logger = createLogger({ service: 'ingest', level: 'info', destination: stream });
  createComponentLogger(logger, 'bus', { groupId: 'g1' }).info({ topic: 't' }, 'joined');
  logger.debug('hidden');
  const [line, ...rest] = lines();
  assert.equal(rest.length, 0);
  assert.equal(line?.service, 'ingest');
  assert.equal(line?.component, 'bus');
  assert.equal(line?.groupId, 'g1');
  assert.equal(line?.level, 'info');
  assert.equal(line?.msg, 'joined');
  assert.equal(typeof line?.time, 'string');
});

test('errors are serialised with code, retriable, context and cause', () => {
  const { stream, lines } = capture();
  const logger = createLogger({ service: 'push', destination: stream });
  const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  logger.error(
    { err: new ChatmeshError('CM_ERR_COMMON_TIMEOUT', 'slow', { cause, context: { topic: 'x' } }) },
    'failed',
  );
  const err = lines()[0]?.err as Record<string, unknown>;
  assert.equal(err.type, 'ChatmeshError');
  assert.equal(err.code, 'CM_ERR_COMMON_TIMEOUT');
  assert.equal(err.retriable, true);
  assert.deepEqual(err.context, { topic: 'x' });
  assert.equal((err.cause as Record<string, unknown>).code, 'ECONNREFUSED');
});
