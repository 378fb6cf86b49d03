/** The group that applies receipt reports (one owner per receipts partition, so per chat). */
export const RECEIPTS_GROUP_ID = 'chatmesh.receipts';
/** The group that records delivery deadlines from chat.events. */
export const RECEIPTS_DEADLINES_GROUP_ID = 'chatmesh.receipts.deadlines';
