import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceStatus } from '../index.js';

test('starting, then ready once every awaited promise resolved; health is ready only then', async () => {
  const status = new ServiceStatus();
  let release!: () => void;
  const consumer = new Promise<void>((resolve) => (release = resolve));
  status.readyWhen(Promise.resolve(), consumer);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(status.health(), { status: 'starting', ready: false });
  assert.equal(status.accepting, true);
  release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(status.health({ partitions: 3 }), { status: 'ready', ready: true, details: { partitions: 3 } });
});

test('stop drains once: draining while it runs, stopped after, a second stop waits for the first', async () => {
  const status = new ServiceStatus();
  status.markReady();
  let drains = 0;
  let finish!: () => void;
  const first = status.stop(async () => {
    drains++;
    await new Promise<void>((resolve) => (finish = resolve));
  });
  assert.equal(status.state, 'draining');
  assert.equal(status.accepting, false);
  const second = status.stop(async () => {
    drains++;
  });
  finish();
  await Promise.all([first, second]);
  assert.equal(drains, 1);
  assert.deepEqual(status.health(), { status: 'stopped', ready: false });
});

test('readiness never comes back after a stop or a failure', async () => {
  const stopped = new ServiceStatus();
  let release!: () => void;
  stopped.readyWhen(new Promise<void>((resolve) => (release = resolve)));
  await stopped.stop(async () => undefined);
  release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stopped.state, 'stopped');

  const failed = new ServiceStatus();
  failed.markReady();
  failed.fail();
  failed.markReady();
  assert.deepEqual(failed.health(), { status: 'failed', ready: false });
  await failed.stop(async () => undefined);
  assert.equal(failed.state, 'stopped');
  failed.fail();
  assert.equal(failed.state, 'stopped', 'a stopped service does not fail afterwards');
});

test('a drain that throws still ends stopped and passes the error on', async () => {
  const status = new ServiceStatus();
  await assert.rejects(
    status.stop(async () => {
      throw new Error('close failed');
    }),
    /close failed/,
  );
  assert.equal(status.state, 'stopped');
});
