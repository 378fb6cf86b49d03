/** How long a user's last seen is kept after the user's last registry write: 30 days. */
export const DEFAULT_LAST_SEEN_RETENTION_MS = 30 * 24 * 3600 * 1000;
