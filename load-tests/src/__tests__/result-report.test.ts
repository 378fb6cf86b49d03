import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readMachineInfo, renderResultTable, resultFileName, type MessagePathResult } from '../index.js';

test('resultFileName is <date>-<mode>-<scenario>.json', () => {
  assert.equal(
    resultFileName({ startedAt: '2026-11-23T14:00:00.000Z', mode: 'stack', scenario: 'group1024' }),
    '2026-11-23-stack-group1024.json',
  );
});

test('renderResultTable prints the figures and the machine', () => {
  const machine = readMachineInfo();
  assert.ok(machine.cores >= 1 && machine.memoryGiB > 0 && machine.node.startsWith('v'));
  const result: MessagePathResult = {
    benchmark: 'message-path',
    startedAt: '2026-11-23T14:00:00.000Z',
    mode: 'embedded',
    scenario: 'direct',
    online: 'none',
    messages: { sent: 10, accepted: 10, rejected: 0, warmup: 1, timedOut: 0 },
    chats: { count: 2, membersEach: 2, setupS: 0.1 },
    concurrency: 4,
    durationS: 1,
    acceptedPerSecond: 1234,
    ackLatency: { count: 9, p50Ms: 1.5, p90Ms: 2, p99Ms: 3.25, maxMs: 4, meanMs: 2 },
    inboxRows: { expected: 20, appended: 20, replays: 0, perSecond: 2468, behindAtLastAck: 0, drainS: 0 },
    deliveries: { received: 0, perSecond: null },
    machine,
    loadAverageAtEnd: [1, 1, 1],
    environment: {},
    notes: [],
  };
  const table = renderResultTable(result);
  assert.match(table, /accepted msg\/s\s+1234/);
  assert.match(table, /ack latency p50\/p99\s+1\.5 \/ 3\.3 ms/);
  assert.match(table, /inbox rows\/s\s+2468/);
  assert.ok(table.includes(machine.cpuModel) && table.includes(`${machine.cores} cores`));
});
