import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { clientFrameSchema, parseClientFrame, ProtocolError } from '@chatmesh/protocol';
import { DOCUMENTED_CODES } from '../documented-codes.js';
import { nearValidFrame, validFrame } from '../frame-arbitraries.js';

/** Parses, and checks that a refusal is a ProtocolError with a documented CM_ERR_PROTOCOL_* code. */
function parseOrRefuse(text: string): { frame: unknown } | { code: string } {
  try {
    return { frame: parseClientFrame(text) };
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${String(error)}`);
    assert.ok(error.code.startsWith('CM_ERR_PROTOCOL_'), error.code);
    assert.ok(DOCUMENTED_CODES.has(error.code), `undocumented code ${error.code}`);
    return { code: error.code };
  }
}

const RUNS = { numRuns: 3_000 };

test('any text: a frame the schema accepts, or a documented protocol error; never another exception', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.json({ maxDepth: 4 })), (text) => {
      const outcome = parseOrRefuse(text);
      if ('frame' in outcome) assert.ok(clientFrameSchema.safeParse(outcome.frame).success);
    }),
    RUNS,
  );
});

test('every valid frame parses to itself', () => {
  fc.assert(
    fc.property(validFrame, (frame) => {
      const text = JSON.stringify(frame);
      assert.deepEqual(parseClientFrame(text), JSON.parse(text));
    }),
    RUNS,
  );
});

test('near-valid frames: accepted frames re-parse to themselves; refusals carry documented codes', () => {
  let refused = 0;
  fc.assert(
    fc.property(nearValidFrame, (frame) => {
      const outcome = parseOrRefuse(JSON.stringify(frame));
      if ('frame' in outcome) assert.deepEqual(parseClientFrame(JSON.stringify(outcome.frame)), outcome.frame);
      else refused++;
    }),
    RUNS,
  );
  // A generator that never produced a refusal would prove nothing about them.
  assert.ok(refused > RUNS.numRuns / 4, `only ${refused} refusals`);
});
