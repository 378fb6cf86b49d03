/**
 * How registry records look in `_schemas`: JSON keys and values shaped like Confluent's KafkaStore
 * (`keytype` SCHEMA / CONFIG), so the topic is readable with ordinary tools. The schema key also holds
 * the id and the writer's nonce, so that two racing writes never share a key and compaction keeps both
 * (the view decides which one counts, by log order).
 */
import { isCompatibilityLevel } from '../compatibility.js';
import type { StoreRecord } from './schema-store.js';

/** Key and value bytes of a record. */
export function encodeStoreRecord(record: StoreRecord): { key: string; value: string } {
  if (record.kind === 'config') {
    return {
      key: JSON.stringify({ keytype: 'CONFIG', subject: record.subject, magic: 0 }),
      value: JSON.stringify({ compatibilityLevel: record.compatibilityLevel }),
    };
  }
  return {
    key: JSON.stringify({
      keytype: 'SCHEMA',
      subject: record.subject,
      version: record.version,
      magic: 1,
      id: record.id,
      nonce: record.nonce,
    }),
    value: JSON.stringify({
      subject: record.subject,
      version: record.version,
      id: record.id,
      schema: record.schema,
      deleted: false,
      nonce: record.nonce,
    }),
  };
}

/** The record a message holds, or undefined for what this registry does not use (tombstones, NOOP keys). */
export function decodeStoreRecord(key: Buffer | null, value: Buffer | null): StoreRecord | undefined {
  if (key === null || value === null) return undefined;
  let k: Record<string, unknown>;
  let v: Record<string, unknown>;
  try {
    k = JSON.parse(key.toString('utf8')) as Record<string, unknown>;
    v = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (k['keytype'] === 'CONFIG' && isCompatibilityLevel(v['compatibilityLevel'])) {
    const subject = typeof k['subject'] === 'string' ? k['subject'] : null;
    return { kind: 'config', subject, compatibilityLevel: v['compatibilityLevel'] };
  }
  if (
    k['keytype'] === 'SCHEMA' &&
    v['deleted'] !== true &&
    typeof v['subject'] === 'string' &&
    typeof v['version'] === 'number' &&
    typeof v['id'] === 'number' &&
    typeof v['schema'] === 'string'
  ) {
    return {
      kind: 'schema',
      subject: v['subject'],
      version: v['version'],
      id: v['id'],
      schema: v['schema'],
      nonce: typeof v['nonce'] === 'string' ? v['nonce'] : '',
    };
  }
  return undefined;
}
