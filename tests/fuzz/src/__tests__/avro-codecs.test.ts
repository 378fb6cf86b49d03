import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isChatmeshError } from '@chatmesh/errors';
import { createLocalCodec, latestTypeOf, topicDefinitions, type TopicDefinition } from '@chatmesh/schemas';
import { DOCUMENTED_CODES } from '../documented-codes.js';

/** One topic per value schema (gateway delivery topics and dead-letter twins share theirs). */
function topicsBySchema(): TopicDefinition[] {
  const seen = new Map<string, TopicDefinition>();
  for (const topic of topicDefinitions({ gatewayIds: ['gw-fuzz'] }))
    if (!seen.has(topic.valueSchema)) seen.set(topic.valueSchema, topic);
  return [...seen.values()];
}

test("every topic's schema: random values round-trip through the framed codec byte for byte", async () => {
  const codec = createLocalCodec();
  const topics = topicsBySchema();
  await codec.prepare(topics.map((topic) => topic.valueSubject));
  assert.ok(topics.length >= 8, `only ${topics.length} schemas`);
  for (const topic of topics) {
    const type = latestTypeOf(topic.valueSchema);
    for (let run = 0; run < 200; run++) {
      const value: unknown = type.random();
      const bytes = await codec.encode(topic.valueSubject, value);
      const decoded = await codec.decode(bytes);
      assert.ok(
        type.toBuffer(decoded.value).equals(type.toBuffer(value)),
        `${topic.valueSchema}: a value changed in the round trip`,
      );
    }
  }
});

test('corrupt, truncated and random bytes are refused with a documented schema code, never another error', async () => {
  const codec = createLocalCodec();
  const topics = topicsBySchema();
  await codec.prepare(topics.map((topic) => topic.valueSubject));
  const samples = await Promise.all(
    topics.map((topic) => codec.encode(topic.valueSubject, latestTypeOf(topic.valueSchema).random())),
  );
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
        // A real record, then truncated or with one byte flipped: framing valid, body not.
        fc
          .tuple(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean())
          .map(([sample, at, flip, truncate]) => {
            const copy = Buffer.from(sample);
            const index = at % copy.length;
            if (truncate) return copy.subarray(0, index);
            copy[index] = copy[index]! ^ flip;
            return copy;
          }),
      ),
      async (bytes) => {
        try {
          await codec.decode(bytes);
        } catch (error) {
          assert.ok(isChatmeshError(error), `not a coded error: ${String(error)}`);
          assert.ok(error.code.startsWith('CM_ERR_SCHEMA_') && DOCUMENTED_CODES.has(error.code), error.code);
          refused++;
        }
      },
    ),
    { numRuns: 3_000 },
  );
  assert.ok(refused > 1_000, `only ${refused} refusals`);
});
