import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FAULT_KINDS,
  GATEWAYS,
  longRound,
  seededRandom,
  SERVER_TARGETS,
  SERVICE_TARGETS,
  shortSchedule,
} from '../schedule.js';

const everyTarget = [...SERVICE_TARGETS, ...SERVER_TARGETS];

test('the short schedule hits every process and server once with a process fault, and has every kind of fault', () => {
  const steps = shortSchedule();
  const processSteps = steps.filter((s) => s.kind === 'kill' || s.kind === 'pause' || s.kind === 'restart');
  assert.deepEqual(processSteps.map((s) => s.target).sort(), [...everyTarget].sort());
  assert.deepEqual([...new Set(steps.map((s) => s.kind))].sort(), [...FAULT_KINDS].sort());
});

test('a long round has every target × kill, pause, restart and every gateway cut and silenced; a seed repeats it', () => {
  const round = longRound(seededRandom(7));
  assert.equal(round.length, everyTarget.length * 3 + GATEWAYS.length * 2);
  for (const target of everyTarget) {
    for (const kind of ['kill', 'pause', 'restart'] as const) {
      assert.ok(
        round.some((s) => s.target === target && s.kind === kind),
        `${kind} ${target}`,
      );
    }
  }
  assert.deepEqual(longRound(seededRandom(7)), round);
  assert.notDeepEqual(longRound(seededRandom(8)), round);
});
