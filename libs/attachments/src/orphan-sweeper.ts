import type { Logger } from '@chatmesh/logging';
import type { AttachmentStore } from '@chatmesh/store';

import type { ObjectStore } from './object-store.js';

/** How far back the sweeper looks past the orphan TTL (uploads older than this escaped an offline sweeper). */
export const SWEEP_LOOKBACK_MS = 7 * 86_400_000;
const PAGE = 500;

/** What {@link sweepOrphans} needs. */
export interface OrphanSweepDeps {
  readonly objects: ObjectStore;
  readonly metadata: AttachmentStore;
  readonly orphanTtlMs: number;
}

/**
 * Removes uploads older than the orphan TTL that no message refers to: the unfinished multipart upload, the object,
 * then the metadata (in that order, so a crash leaves metadata to retry from, never bytes nobody knows about). An
 * upload with a ref is never touched. Ingest refuses a first reference after the claim window, which ends before the
 * TTL, so a send and the sweep never race on one upload.
 * @returns the ids removed
 */
export async function sweepOrphans(deps: OrphanSweepDeps, nowMs: number): Promise<string[]> {
  const before = nowMs - deps.orphanTtlMs;
  let from = before - SWEEP_LOOKBACK_MS;
  const removed: string[] = [];
  for (;;) {
    const page = await deps.metadata.createdBetween(from, before, PAGE);
    for (const record of page) {
      if ((await deps.metadata.refs(record.attachmentId)).length > 0) continue;
      if (record.multipartUploadId !== null) {
        await deps.objects.abortMultipart(record.objectKey, record.multipartUploadId);
      }
      await deps.objects.delete(record.objectKey);
      await deps.metadata.remove(record);
      removed.push(record.attachmentId);
    }
    if (page.length < PAGE) return removed;
    from = page[page.length - 1]!.createdAtMs + 1;
  }
}

/** Runs {@link sweepOrphans} every `intervalMs` until stopped; failures are logged and retried next time. */
export function startOrphanSweeper(
  deps: OrphanSweepDeps & { readonly intervalMs: number; readonly logger: Logger; readonly clock?: () => number },
): { stop(): Promise<void> } {
  const clock = deps.clock ?? Date.now;
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = sweepOrphans(deps, clock()).then(
      (removed) => {
        if (removed.length > 0) deps.logger.info({ removed: removed.length }, 'removed orphan attachments');
      },
      (error: unknown) => deps.logger.warn({ err: error }, 'orphan sweep failed; retrying next interval'),
    );
  }, deps.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
