import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SchemaRegistry as ConfluentClient, SchemaType } from '@kafkajs/confluent-schema-registry';
import { startKafka, randomName, waitFor, type KafkaServer } from '@chatmesh/testing';
import kafkajs from 'kafkajs';
import { KafkaSchemaStore, startSchemaRegistry, type RunningSchemaRegistry } from '../index.js';

const record = (name: string, fields: object[] = [{ name: 'id', type: 'string' }]) => ({
  type: SchemaType.AVRO as const,
  schema: JSON.stringify({ type: 'record', name, namespace: 'test.integration', fields }),
});

let kafka: KafkaServer;
const running: RunningSchemaRegistry[] = [];

before(async () => {
  kafka = await startKafka();
});
after(async () => {
  for (const registry of running) await registry.close().catch(() => undefined);
  await kafka?.stop();
});

async function startOn(topic: string): Promise<{ registry: RunningSchemaRegistry; client: ConfluentClient }> {
  const registry = await startSchemaRegistry({ store: new KafkaSchemaStore({ brokers: kafka.brokers, topic }) });
  running.push(registry);
  await registry.ready;
  return { registry, client: new ConfluentClient({ host: registry.url, retry: { retries: 0 } }) };
}

async function latest(url: string, subject: string): Promise<{ id: number; version: number } | undefined> {
  const response = await fetch(`${url}/subjects/${subject}/versions/latest`);
  return response.status === 200 ? ((await response.json()) as { id: number; version: number }) : undefined;
}

test('creates _schemas as a single-partition compacted topic', async () => {
  const topic = randomName('test-schemas');
  await startOn(topic);
  const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;
  const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    assert.equal(metadata?.partitions.length, 1);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
    });
    assert.equal(
      configs.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue,
      'compact',
    );
  } finally {
    await admin.disconnect();
  }
});

test('two registry instances on one _schemas topic agree on ids; concurrent writers never share one', async () => {
  const topic = randomName('test-schemas');
  const one = await startOn(topic);
  const two = await startOn(topic);
  const subjects = Array.from({ length: 6 }, (_, i) => randomName(`agree-${i}`) + '-value');
  // Half through each instance, all at once: both propose ids from the same view and must not collide.
  const ids = await Promise.all(
    subjects.map((subject, i) => (i % 2 === 0 ? one : two).client.register(record(`R${i}`), { subject })),
  );
  assert.equal(new Set(ids.map((r) => r.id)).size, subjects.length, `ids ${JSON.stringify(ids)} are distinct`);
  for (const [i, subject] of subjects.entries()) {
    for (const instance of [one, two]) {
      const seen = await waitFor(() => latest(instance.registry.url, subject), {
        description: `${subject} on ${instance.registry.url}`,
      });
      assert.equal(seen.id, ids[i]?.id);
      assert.equal(seen.version, 1);
    }
  }
  // The same schema registered through the other instance keeps its id (lookup by schema, not by instance).
  assert.equal((await two.client.register(record('R0'), { subject: subjects[0] as string })).id, ids[0]?.id);
});

test('a restarted registry rebuilds the same ids from the topic and continues above them', async () => {
  const topic = randomName('test-schemas');
  const first = await startOn(topic);
  const subject = randomName('restart') + '-value';
  const v1 = await first.client.register(record('Restart'), { subject });
  const v2 = await first.client.register(
    record('Restart', [
      { name: 'id', type: 'string' },
      { name: 'n', type: 'int', default: 0 },
    ]),
    { subject },
  );
  await first.registry.close();

  const second = await startOn(topic);
  const after = await latest(second.registry.url, subject);
  assert.deepEqual([after?.id, after?.version], [v2.id, 2]);
  const byId = (await (await fetch(`${second.registry.url}/schemas/ids/${v1.id}`)).json()) as { schema: string };
  assert.deepEqual(JSON.parse(byId.schema), JSON.parse(record('Restart').schema));
  assert.equal((await second.client.register(record('Restart'), { subject })).id, v1.id, 'known schema keeps its id');
  const other = await second.client.register(record('AfterRestart'), { subject: randomName('after') + '-value' });
  assert.ok(other.id > v2.id, `new id ${other.id} continues above ${v2.id}`);
});
