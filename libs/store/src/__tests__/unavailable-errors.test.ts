import assert from 'node:assert/strict';
import { test } from 'node:test';
import cassandra from 'cassandra-driver';
import { ChatmeshError } from '@chatmesh/errors';
import { CASSANDRA_RECONNECT_MAX_DELAY_MS, createCassandraClient, createCassandraStore } from '../cassandra-store.js';
import { isCassandraUnavailable, withUnavailableErrors } from '../unavailable-errors.js';

const { errors, types } = cassandra;
const codes = types.responseErrorCodes;

/** A client whose queries fail with `error` (or answer `result`); connect and shutdown succeed. */
function fakeClient(outcome: { error?: unknown; result?: unknown }): cassandra.Client {
  const answer = async (): Promise<unknown> => {
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.result;
  };
  return {
    keyspace: 'ks',
    connect: async () => undefined,
    shutdown: async () => undefined,
    execute: answer,
    batch: answer,
  } as unknown as cassandra.Client;
}

test('driver errors that mean "unavailable for now" are recognised; a bad query is not', () => {
  assert.ok(isCassandraUnavailable(new errors.NoHostAvailableError({})));
  assert.ok(isCassandraUnavailable(new errors.OperationTimedOutError('timed out', '127.0.0.1:9042')));
  for (const code of [
    codes.unavailableException,
    codes.overloaded,
    codes.isBootstrapping,
    codes.writeTimeout,
    codes.readTimeout,
  ]) {
    assert.ok(isCassandraUnavailable(new errors.ResponseError(code, 'transient')), `response code ${code}`);
  }
  assert.equal(isCassandraUnavailable(new errors.ResponseError(codes.syntaxError, 'bad')), false);
  assert.equal(isCassandraUnavailable(new errors.ResponseError(codes.invalid, 'bad')), false);
  assert.equal(isCassandraUnavailable(new TypeError('bug')), false);
});

test('execute and batch turn an unavailable error into a retriable CM_ERR_STORE_UNAVAILABLE with the cause kept', async () => {
  const cause = new errors.NoHostAvailableError({});
  const client = withUnavailableErrors(fakeClient({ error: cause }));
  for (const call of [() => client.execute('SELECT 1'), () => client.batch([])]) {
    await assert.rejects(call(), (error: unknown) => {
      assert.ok(error instanceof ChatmeshError);
      assert.equal(error.code, 'CM_ERR_STORE_UNAVAILABLE');
      assert.equal(error.retriable, true);
      assert.equal(error.cause, cause);
      return true;
    });
  }
});

test('other errors and results pass through unchanged, and so do the other members', async () => {
  const bad = new errors.ResponseError(codes.syntaxError, 'bad');
  await assert.rejects(withUnavailableErrors(fakeClient({ error: bad })).execute('SELEC'), (error) => error === bad);
  const result = { rows: [] };
  assert.equal(await withUnavailableErrors(fakeClient({ result })).execute('SELECT 1'), result);
  assert.equal(withUnavailableErrors(fakeClient({})).keyspace, 'ks');
});

test('the Cassandra store queries through the guarded client: a store call during an outage is retriable', async () => {
  const store = await createCassandraStore({
    client: fakeClient({ error: new errors.NoHostAvailableError({}) }),
    contactPoints: ['127.0.0.1:9042'],
    localDataCenter: 'datacenter1',
    keyspace: 'ks',
  });
  await assert.rejects(store.cursors.get('alice', 'phone'), (error: unknown) => {
    assert.ok(error instanceof ChatmeshError);
    assert.equal(error.code, 'CM_ERR_STORE_UNAVAILABLE');
    assert.equal(error.retriable, true);
    return true;
  });
});

test('the driver reconnects to a host that went down within CASSANDRA_RECONNECT_MAX_DELAY_MS, not the default 10 minutes', () => {
  const client = createCassandraClient({ contactPoints: ['127.0.0.1:9042'] });
  // `options` is the driver's resolved configuration (public at runtime, missing from its typings).
  const policy = (client as unknown as { options: cassandra.ClientOptions }).options.policies?.reconnection;
  assert.ok(policy instanceof cassandra.policies.reconnection.ExponentialReconnectionPolicy);
  assert.equal(policy.getOptions().get('maxDelay'), CASSANDRA_RECONNECT_MAX_DELAY_MS);
  assert.ok(CASSANDRA_RECONNECT_MAX_DELAY_MS <= 10_000);
});
