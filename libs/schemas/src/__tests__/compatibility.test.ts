import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { isChatmeshError } from '@chatmesh/errors';
import { checkSchemaHistory, loadSchemaTree } from '../index.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}/`, import.meta.url));

test('every record in schemas/ reads what its previous version wrote, and added fields have defaults', () => {
  const tree = loadSchemaTree();
  assert.ok(tree.size >= 9, `expected every topic record, found ${[...tree.keys()].join(', ')}`);
  for (const [name, versions] of tree) {
    assert.deepEqual(checkSchemaHistory(versions), [], `${name} history is incompatible`);
  }
  // At least one record has a history, so the check above compares something.
  assert.ok([...tree.values()].some((versions) => versions.length >= 2));
});

test('every record, field and enum in schemas/ is documented and namespaced', () => {
  for (const versions of loadSchemaTree().values()) {
    for (const { path, schema } of versions) {
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) return node.forEach(walk);
        if (typeof node !== 'object' || node === null) return;
        const n = node as Record<string, unknown>;
        if (n['type'] === 'record' || n['type'] === 'enum') {
          assert.equal(typeof n['doc'], 'string', `${path}: ${String(n['name'])} has no doc`);
          assert.match(
            String(n['namespace']),
            /^chatmesh\./,
            `${path}: ${String(n['name'])} has no chatmesh namespace`,
          );
        }
        if (n['type'] === 'record') {
          for (const field of n['fields'] as Array<Record<string, unknown>>) {
            assert.equal(
              typeof field['doc'],
              'string',
              `${path}: field ${String(n['name'])}.${String(field['name'])} has no doc`,
            );
            walk(field['type']);
          }
        } else {
          walk(n['type']);
          walk(n['items']);
          walk(n['values']);
        }
      };
      walk(schema);
    }
  }
});

test('a history that only adds a field with a default passes', () => {
  const [versions] = loadSchemaTree(fixture('compatible')).values();
  assert.ok(versions);
  assert.deepEqual(checkSchemaHistory(versions), []);
});

test('the check rejects a field added without a default', () => {
  const [versions] = loadSchemaTree(fixture('added-field-without-default')).values();
  assert.ok(versions);
  const problems = checkSchemaHistory(versions);
  assert.equal(problems.length, 2, JSON.stringify(problems));
  assert.ok(problems.every((p) => p.fullName === 'demo.Thing' && p.writerVersion === 1 && p.readerVersion === 2));
  assert.ok(problems.some((p) => p.reason === 'field demo.Thing.note was added without a default'));
  assert.ok(problems.some((p) => p.reason.startsWith('cannot resolve')));
});

test('the check rejects a changed field type', () => {
  const [versions] = loadSchemaTree(fixture('changed-type')).values();
  assert.ok(versions);
  const problems = checkSchemaHistory(versions);
  assert.equal(problems.length, 1);
  assert.match(problems[0]?.reason ?? '', /^cannot resolve/);
  // The check agrees with Avro itself: v1 data really does not decode as v2.
  const [v1, v2] = versions;
  assert.ok(v1 && v2);
  const writer = avro.Type.forSchema(v1.schema as avro.Schema);
  assert.throws(() => avro.Type.forSchema(v2.schema as avro.Schema).createResolver(writer));
});

test('a misplaced schema file is refused with CM_ERR_SCHEMA_INVALID', () => {
  assert.throws(
    () => loadSchemaTree(fixture('..')),
    (error: unknown) => isChatmeshError(error, 'CM_ERR_SCHEMA_INVALID'),
  );
});
