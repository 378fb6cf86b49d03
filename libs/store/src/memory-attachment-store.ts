import type { AttachmentRecord, AttachmentRefRecord, AttachmentStore } from './types.js';

/** In-process {@link AttachmentStore}: the same contract as the Cassandra tables, nothing survives exit. */
export function createMemoryAttachmentStore(): AttachmentStore {
  const records = new Map<string, AttachmentRecord>();
  const refs = new Map<string, Map<string, AttachmentRefRecord>>();
  return {
    async create(record) {
      if (!records.has(record.attachmentId)) records.set(record.attachmentId, record);
    },
    async get(attachmentId) {
      return records.get(attachmentId) ?? null;
    },
    async createdBetween(fromMs, beforeMs, limit) {
      return [...records.values()]
        .filter((r) => r.createdAtMs >= fromMs && r.createdAtMs < beforeMs)
        .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.attachmentId < b.attachmentId ? -1 : 1))
        .slice(0, limit);
    },
    async remove(record) {
      records.delete(record.attachmentId);
    },
    async addRef(ref) {
      let byKey = refs.get(ref.attachmentId);
      if (!byKey) refs.set(ref.attachmentId, (byKey = new Map()));
      const key = `${ref.chatId}\u0000${ref.refKey}`;
      if (!byKey.has(key)) byKey.set(key, ref);
    },
    async refs(attachmentId) {
      return [...(refs.get(attachmentId)?.values() ?? [])];
    },
  };
}
