import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { SchemaRegistry as ConfluentClient, SchemaType } from '@kafkajs/confluent-schema-registry';
import { randomName, startKafka, waitFor, type KafkaServer } from '@chatmesh/testing';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
let kafka: KafkaServer;

before(async () => {
  kafka = await startKafka();
});
after(async () => {
  await kafka?.stop();
});

function spawnMain(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

test('main serves once caught up, logs its address, and stops cleanly on SIGTERM', async () => {
  const { child, output } = spawnMain({
    KAFKA_BROKERS: kafka.brokers.join(','),
    SCHEMA_REGISTRY_PORT: '0',
    SCHEMA_REGISTRY_TOPIC: randomName('test-schemas'),
  });
  const exited = once(child, 'exit');
  try {
    const url = await waitFor(() => /"url":"(http:\/\/[^"]+)"/.exec(output())?.[1], {
      timeoutMs: 60_000,
      description: 'the listening log line',
    });
    await waitFor(async () => (await fetch(`${url}/subjects`)).status === 200, {
      timeoutMs: 60_000,
      description: 'GET /subjects 200',
    });
    const client = new ConfluentClient({ host: url });
    const schema = JSON.stringify({
      type: 'record',
      name: 'Main',
      namespace: 'test',
      fields: [{ name: 'a', type: 'string' }],
    });
    const { id } = await client.register({ type: SchemaType.AVRO, schema }, { subject: 'main-value' });
    assert.equal(await client.getLatestSchemaId('main-value'), id);
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, output());
    assert.match(output(), /schema registry stopping/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('main refuses bad configuration naming every bad variable', async () => {
  const { child, output } = spawnMain({ KAFKA_BROKERS: 'not a broker', SCHEMA_REGISTRY_PORT: 'http' });
  const [code] = await once(child, 'exit');
  assert.equal(code, 1);
  assert.match(output(), /CM_ERR_SCHEMA_REGISTRY_CONFIG_INVALID/);
  assert.match(output(), /KAFKA_BROKERS entry/);
  assert.match(output(), /SCHEMA_REGISTRY_PORT/);
});
