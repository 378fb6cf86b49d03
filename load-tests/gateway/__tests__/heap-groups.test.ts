import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffGroups, groupKey, groupSnapshot, type Snapshot } from '../heap-groups.js';

/** A snapshot with the given nodes: [type, name, self size] each (other fields zero). */
function snapshot(nodes: Array<[string, string, number]>): Snapshot {
  const types = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native'];
  const strings = [...new Set(nodes.map((n) => n[1]))];
  return {
    snapshot: {
      meta: {
        node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
        node_types: [types],
      },
    },
    nodes: nodes.flatMap(([type, name, size], i) => [types.indexOf(type), strings.indexOf(name), i, size, 0, 0, 0]),
    strings,
  };
}

test('nodes are grouped by type and constructor, strings by kind only, closures by name', () => {
  assert.equal(groupKey('string', 'abc'), '(string)');
  assert.equal(groupKey('object', 'Session'), 'object Session');
  assert.equal(groupKey('closure', ''), 'closure (anonymous)');
  const groups = groupSnapshot(
    snapshot([
      ['object', 'Session', 120],
      ['object', 'Session', 120],
      ['string', 'u1', 24],
      ['string', 'u2', 32],
      ['closure', 'send', 56],
    ]),
  );
  assert.deepEqual(groups.get('object Session'), { count: 2, bytes: 240 });
  assert.deepEqual(groups.get('(string)'), { count: 2, bytes: 56 });
  assert.deepEqual(groups.get('closure send'), { count: 1, bytes: 56 });
});

test('the diff is after − before per group, largest growth first, groups of either side included', () => {
  const before = groupSnapshot(
    snapshot([
      ['object', 'Timeout', 120],
      ['object', 'Map', 32],
    ]),
  );
  const after = groupSnapshot(
    snapshot([
      ['object', 'Map', 32],
      ['object', 'Session', 120],
      ['object', 'Session', 120],
      ['string', 'x', 24],
    ]),
  );
  assert.deepEqual(diffGroups(before, after), [
    { key: 'object Session', count: 2, bytes: 240 },
    { key: '(string)', count: 1, bytes: 24 },
    { key: 'object Map', count: 0, bytes: 0 },
    { key: 'object Timeout', count: -1, bytes: -120 },
  ]);
});
