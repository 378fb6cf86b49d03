import type cassandra from 'cassandra-driver';

import type { AttachmentRecord, AttachmentStore } from './types.js';

const DAY_MS = 86_400_000;

/** The UTC day bucket (`YYYY-MM-DD`) of a time. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Cassandra {@link AttachmentStore} over `attachments`, `attachments_by_day` and `attachment_refs` (migration 0006).
 * Plain idempotent writes: ids are server-chosen and random, so two writers never race on one row.
 */
export function createCassandraAttachmentStore(client: cassandra.Client, ks: string): AttachmentStore {
  const q = {
    insert: `INSERT INTO ${ks}.attachments (attachment_id, owner_user_id, object_key, size_bytes, content_type, sha256, file_name, multipart_upload_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    insertDay: `INSERT INTO ${ks}.attachments_by_day (day, created_at, attachment_id) VALUES (?, ?, ?)`,
    get: `SELECT attachment_id, owner_user_id, object_key, size_bytes, content_type, sha256, file_name, multipart_upload_id, created_at FROM ${ks}.attachments WHERE attachment_id = ?`,
    day: `SELECT attachment_id FROM ${ks}.attachments_by_day WHERE day = ? AND created_at >= ? AND created_at < ? LIMIT ?`,
    remove: `DELETE FROM ${ks}.attachments WHERE attachment_id = ?`,
    removeDay: `DELETE FROM ${ks}.attachments_by_day WHERE day = ? AND created_at = ? AND attachment_id = ?`,
    addRef: `INSERT INTO ${ks}.attachment_refs (attachment_id, chat_id, ref_key, by_user_id, created_at) VALUES (?, ?, ?, ?, ?)`,
    refs: `SELECT chat_id, ref_key, by_user_id, created_at FROM ${ks}.attachment_refs WHERE attachment_id = ?`,
  };
  const prepare = { prepare: true } as const;
  const get = async (attachmentId: string): Promise<AttachmentRecord | null> => {
    const row = (await client.execute(q.get, [attachmentId], prepare)).first();
    if (!row) return null;
    return {
      attachmentId: row['attachment_id'] as string,
      ownerUserId: row['owner_user_id'] as string,
      objectKey: row['object_key'] as string,
      sizeBytes: Number(row['size_bytes']),
      contentType: row['content_type'] as string,
      sha256: row['sha256'] as string,
      fileName: (row['file_name'] as string | null) ?? null,
      multipartUploadId: (row['multipart_upload_id'] as string | null) ?? null,
      createdAtMs: (row['created_at'] as Date).getTime(),
    };
  };
  return {
    async create(r) {
      const createdAt = new Date(r.createdAtMs);
      await client.batch(
        [
          {
            query: q.insert,
            params: [
              r.attachmentId,
              r.ownerUserId,
              r.objectKey,
              r.sizeBytes,
              r.contentType,
              r.sha256,
              r.fileName,
              r.multipartUploadId,
              createdAt,
            ],
          },
          { query: q.insertDay, params: [dayOf(r.createdAtMs), createdAt, r.attachmentId] },
        ],
        { prepare: true, logged: true },
      );
    },
    get,
    async createdBetween(fromMs, beforeMs, limit) {
      const out: AttachmentRecord[] = [];
      // One partition per UTC day: walk the days of the window, oldest first.
      for (let day = Math.floor(fromMs / DAY_MS) * DAY_MS; day < beforeMs && out.length < limit; day += DAY_MS) {
        const rows = (
          await client.execute(q.day, [dayOf(day), new Date(fromMs), new Date(beforeMs), limit - out.length], prepare)
        ).rows;
        const records = await Promise.all(rows.map((row) => get(row['attachment_id'] as string)));
        for (const record of records) if (record !== null) out.push(record);
      }
      return out;
    },
    async remove(r) {
      await client.batch(
        [
          { query: q.remove, params: [r.attachmentId] },
          { query: q.removeDay, params: [dayOf(r.createdAtMs), new Date(r.createdAtMs), r.attachmentId] },
        ],
        { prepare: true, logged: true },
      );
    },
    async addRef(ref) {
      await client.execute(
        q.addRef,
        [ref.attachmentId, ref.chatId, ref.refKey, ref.byUserId, new Date(ref.createdAtMs)],
        prepare,
      );
    },
    async refs(attachmentId) {
      return (await client.execute(q.refs, [attachmentId], prepare)).rows.map((row) => ({
        attachmentId,
        chatId: row['chat_id'] as string,
        refKey: row['ref_key'] as string,
        byUserId: row['by_user_id'] as string,
        createdAtMs: (row['created_at'] as Date).getTime(),
      }));
    },
  };
}
